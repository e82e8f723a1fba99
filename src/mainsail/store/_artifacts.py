"""Content-addressed artifact store over fsspec.

Blobs live at ``<root>/blobs/sha256/<d[:2]>/<d>``. A write streams into a staging
file while hashing, then moves it into place in one step, so a partial blob is never
visible under its digest. A read verifies the digest. A folder is stored as a manifest
blob (JSON: relative path -> digest and size) whose own digest names the folder.

With an encryption key, blobs are written encrypted (AES-256-GCM, :mod:`._crypto`); a write
finding a plaintext copy of the same content replaces it, :meth:`ArtifactStore.encrypt_all`
(``mainsail encrypt --all``) rewrites the blobs written before the key, and
``require_encryption`` (``MAINSAIL_REQUIRE_ENCRYPTION``) refuses a plaintext blob on read.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

import orjson

from mainsail.core._errors import (
    ArtifactNotFoundError,
    ConfigurationError,
    CorruptedArtifactError,
)

_CHUNK = 1 << 20
MANIFEST_MEDIA_TYPE = "application/vnd.mainsail.manifest+json"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class EncryptReport:
    """What :meth:`ArtifactStore.encrypt_all` did (or, with ``dry_run``, would do)."""

    encrypted: list[str] = field(default_factory=list)
    already: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False


class ArtifactStore:
    """Immutable blobs addressed by SHA-256, on any fsspec filesystem.

    Examples
    --------
    >>> store = ArtifactStore("/tmp/mainsail-doc-artifacts")
    >>> d = store.put_bytes(b"hello")
    >>> store.get_bytes(d)
    b'hello'
    """

    require_encryption = False

    def __init__(
        self, root: str, encryption_key: bytes | None = None, require_encryption: bool = False
    ) -> None:
        from fsspec.core import url_to_fs

        from mainsail.store._crypto import Cipher

        if require_encryption and not encryption_key:
            raise ConfigurationError(
                "MAINSAIL_REQUIRE_ENCRYPTION is on but no MAINSAIL_ENCRYPTION_KEY is set: "
                "every blob would be refused. Set the key, or turn the requirement off."
            )
        self.cipher = Cipher(encryption_key) if encryption_key else None
        self.require_encryption = require_encryption
        self.root_url = root
        self.fs, self.root = url_to_fs(root)
        self.is_local = "file" in _protocols(self.fs)
        if self.is_local:
            self.root = os.path.abspath(self.root)
            os.makedirs(self.root, exist_ok=True)

    # -- paths -----------------------------------------------------------------------------
    def _blob_path(self, digest: str) -> str:
        _check_digest(digest)
        return f"{self.root}/blobs/sha256/{digest[:2]}/{digest}"

    def _staging_dir(self) -> str:
        if self.is_local:
            path = os.path.join(self.root, "tmp")
            os.makedirs(path, exist_ok=True)
            return path
        return tempfile.gettempdir()

    # -- writes ----------------------------------------------------------------------------
    def put_bytes(self, data: bytes) -> str:
        return self.put_stream(io.BytesIO(data))[0]

    def put_file(self, path: str | os.PathLike[str]) -> tuple[str, int]:
        with open(path, "rb") as f:
            return self.put_stream(f)

    def put_stream(self, stream: BinaryIO | IO[bytes]) -> tuple[str, int]:
        """Store a stream; returns (digest, size). Identical content is stored once."""
        h = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(prefix="blob-", suffix=".part", dir=self._staging_dir())

        def plain() -> Iterator[bytes]:
            nonlocal size
            while chunk := stream.read(_CHUNK):
                h.update(chunk)
                size += len(chunk)
                yield chunk

        try:
            with os.fdopen(fd, "wb") as out:
                pieces = self.cipher.encrypt_chunks(plain()) if self.cipher else plain()
                for piece in pieces:
                    out.write(piece)
                out.flush()
                os.fsync(out.fileno())
            digest = h.hexdigest()
            final = self._blob_path(digest)
            # with a key, a plaintext copy written before the key is replaced
            if not self.fs.exists(final) or (self.cipher and not self._stored_encrypted(final)):
                if self.is_local:
                    os.makedirs(os.path.dirname(final), exist_ok=True)
                    os.replace(tmp, final)  # atomic on one filesystem
                    tmp = ""
                else:
                    self.fs.put_file(tmp, final)  # object stores publish a put atomically
            return digest, size
        finally:
            if tmp and os.path.exists(tmp):
                os.unlink(tmp)

    def put_dir(self, folder: str | os.PathLike[str]) -> tuple[str, int]:
        """Store every file under ``folder`` and a manifest; returns (manifest digest, size)."""
        base = Path(folder)
        if not base.is_dir():
            raise ArtifactNotFoundError(
                f"Expected a folder to store. '{folder}' is not a folder. "
                "Pass a folder path, or use log_artifact for a single file."
            )
        entries: dict[str, dict[str, Any]] = {}
        total = 0
        for p in sorted(base.rglob("*")):
            if p.is_file():
                digest, size = self.put_file(p)
                entries[p.relative_to(base).as_posix()] = {"digest": digest, "size": size}
                total += size
        manifest = {"media_type": MANIFEST_MEDIA_TYPE, "files": entries}
        return self.put_bytes(orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS)), total

    def put_stored(self, digest: str, source: str | os.PathLike[str]) -> None:
        """Place a blob's stored bytes (as a backup copied them: encrypted stays encrypted)
        under ``digest``, atomically. The caller has verified them."""
        final = self._blob_path(digest)
        if self.is_local:
            fd, tmp = tempfile.mkstemp(prefix="restore-", suffix=".part", dir=self._staging_dir())
            try:
                with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                os.makedirs(os.path.dirname(final), exist_ok=True)
                os.replace(tmp, final)
                tmp = ""
            finally:
                if tmp and os.path.exists(tmp):
                    os.unlink(tmp)
        else:
            self.fs.put_file(os.fspath(source), final)

    def _stored_encrypted(self, path: str) -> bool:
        from mainsail.store._crypto import is_encrypted

        try:
            with self.fs.open(path, "rb") as f:
                return is_encrypted(f.read(4))
        except FileNotFoundError:
            return False

    def encrypt_all(self, dry_run: bool = False) -> EncryptReport:
        """Rewrite every plaintext blob encrypted with the configured key, in place.

        Each blob is verified against its digest before it is rewritten (a damaged one is
        reported in ``failed`` and left as it is) and replaced atomically, so readers see
        the old or the new file, never a partial one. Safe to run again; safe while the
        store is in use (a reader holding the old file keeps reading it).

        Examples
        --------
        >>> store.encrypt_all().encrypted  # doctest: +SKIP
        ['9f86d0...']
        """
        if self.cipher is None:
            raise ConfigurationError(
                "Encrypting the artifact store needs a key: set MAINSAIL_ENCRYPTION_KEY "
                "(64 hex digits or base64 of 32 bytes) and run again."
            )
        report = EncryptReport(dry_run=dry_run)
        for digest in self.iter_digests():
            if self._stored_encrypted(self._blob_path(digest)):
                report.already += 1
            elif dry_run:
                report.encrypted.append(digest)
            else:
                try:
                    self._encrypt_in_place(digest)
                    report.encrypted.append(digest)
                except CorruptedArtifactError as exc:
                    report.failed[digest] = exc.message
        return report

    def _encrypt_in_place(self, digest: str) -> None:
        assert self.cipher is not None
        path = self._blob_path(digest)
        h = hashlib.sha256()

        def plain(src: IO[bytes]) -> Iterator[bytes]:
            while chunk := src.read(_CHUNK):
                h.update(chunk)
                yield chunk

        fd, tmp = tempfile.mkstemp(prefix="enc-", suffix=".part", dir=self._staging_dir())
        try:
            with os.fdopen(fd, "wb") as out, self.fs.open(path, "rb") as src:
                for piece in self.cipher.encrypt_chunks(plain(src)):
                    out.write(piece)
                out.flush()
                os.fsync(out.fileno())
            if h.hexdigest() != digest:
                raise self._corrupted(digest)
            if self.is_local:
                os.replace(tmp, path)  # atomic on one filesystem
                tmp = ""
            else:
                self.fs.put_file(tmp, path)
        finally:
            if tmp and os.path.exists(tmp):
                os.unlink(tmp)

    # -- reads -----------------------------------------------------------------------------
    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(self._blob_path(digest)))

    def _read_plain(self, digest: str, via: str | None = None) -> Iterator[bytes]:
        """Yield a blob's plaintext; the digest is checked once the last chunk is read.

        ``via`` names the folder manifest the blob is read through (the REST store sends it
        so the server can check project access; local reads ignore it).
        """
        from mainsail.store._crypto import is_encrypted

        h = hashlib.sha256()
        try:
            src = self.fs.open(self._blob_path(digest), "rb")
        except FileNotFoundError:
            raise self._missing(digest) from None
        with src:
            head = src.read(4)
            if is_encrypted(head):
                if self.cipher is None:
                    raise CorruptedArtifactError(
                        f"Blob sha256:{digest} is encrypted and no key is configured. "
                        "Set MAINSAIL_ENCRYPTION_KEY to the key it was written with."
                    )
                src.seek(0)
                chunks: Iterator[bytes] = self.cipher.decrypt_stream(src, f"sha256:{digest}")
            else:
                if self.require_encryption:
                    raise CorruptedArtifactError(
                        f"Blob sha256:{digest} is stored in plaintext and this store requires "
                        "encryption (MAINSAIL_REQUIRE_ENCRYPTION). Nothing was loaded from it. "
                        "Encrypt the blobs written before the key with 'mainsail encrypt --all'."
                    )
                chunks = _chain(head, src)
            for chunk in chunks:
                h.update(chunk)
                yield chunk
        if h.hexdigest() != digest:
            raise self._corrupted(digest)

    def stream(self, digest: str) -> Iterator[bytes]:
        """The blob's plaintext in chunks; the digest is verified as it is read (a mismatch
        raises at the end, before the last chunk is handed out)."""
        return self._read_plain(digest)

    def get_bytes(self, digest: str) -> bytes:
        return b"".join(self._read_plain(digest))

    def get_file(self, digest: str, dest: str | os.PathLike[str], via: str | None = None) -> Path:
        """Copy a blob to ``dest`` (verified; the file appears only once complete)."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        try:
            with open(tmp, "wb") as out:
                for chunk in self._read_plain(digest, via):
                    out.write(chunk)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, dest)
        return dest

    def read_manifest(self, digest: str) -> dict[str, dict[str, Any]]:
        data = orjson.loads(self.get_bytes(digest))
        if not isinstance(data, dict) or data.get("media_type") != MANIFEST_MEDIA_TYPE:
            raise CorruptedArtifactError(
                f"Expected blob {digest[:12]} to be a folder manifest; it is not. "
                "The artifact record may point at the wrong blob."
            )
        files: dict[str, dict[str, Any]] = data["files"]
        return files

    def get_dir(self, digest: str, dest: str | os.PathLike[str]) -> Path:
        dest = Path(dest)
        for rel, entry in self.read_manifest(digest).items():
            self.get_file(entry["digest"], dest / rel, via=digest)
        return dest

    def iter_digests(self) -> Iterator[str]:
        base = f"{self.root}/blobs/sha256"
        if not self.fs.exists(base):
            return
        for path in self.fs.find(base):
            name = path.rsplit("/", 1)[-1]
            if len(name) == 64:
                yield name

    def delete(self, digest: str) -> None:
        path = self._blob_path(digest)
        if self.fs.exists(path):
            self.fs.rm(path)

    def size(self, digest: str) -> int:
        return int(self.fs.size(self._blob_path(digest)))

    def clear_staging(self) -> int:
        """Remove staging files left by killed writers; returns how many were removed."""
        if not self.is_local:
            return 0
        folder = os.path.join(self.root, "tmp")
        n = 0
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(folder, name))
                    n += 1
        return n

    # -- errors ----------------------------------------------------------------------------
    def _missing(self, digest: str) -> ArtifactNotFoundError:
        return ArtifactNotFoundError(
            f"Expected blob sha256:{digest} in the artifact store at {self.root_url}; "
            "it is not there. It may have been removed by hand or by 'mainsail gc'. "
            "Restore it from a backup or log the artifact again."
        )

    def _corrupted(self, digest: str) -> CorruptedArtifactError:
        return CorruptedArtifactError(
            f"Blob sha256:{digest} in {self.root_url} does not match its digest: the file was "
            "changed or damaged after it was written. Nothing was loaded from it. "
            "Restore the blob from a backup or log the artifact again."
        )


def _chain(head: bytes, src: IO[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    while chunk := src.read(_CHUNK):
        yield chunk


def _protocols(fs: Any) -> tuple[str, ...]:
    proto = fs.protocol
    return (proto,) if isinstance(proto, str) else tuple(proto)


def _check_digest(digest: str) -> None:
    if (
        not isinstance(digest, str)
        or len(digest) != 64
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise ArtifactNotFoundError(
            f"Expected a SHA-256 digest (64 lowercase hex digits). Got {digest!r}."
        )
