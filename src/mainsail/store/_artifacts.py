"""Content-addressed artifact store over fsspec.

Blobs live at ``<root>/blobs/sha256/<d[:2]>/<d>``. A write streams into a staging
file while hashing, then moves it into place in one step, so a partial blob is never
visible under its digest. A read verifies the digest. A folder is stored as a manifest
blob (JSON: relative path -> digest and size) whose own digest names the folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

import orjson

from mainsail.core._errors import ArtifactNotFoundError, CorruptedArtifactError

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


class ArtifactStore:
    """Immutable blobs addressed by SHA-256, on any fsspec filesystem.

    Examples
    --------
    >>> store = ArtifactStore("/tmp/mainsail-doc-artifacts")
    >>> d = store.put_bytes(b"hello")
    >>> store.get_bytes(d)
    b'hello'
    """

    def __init__(self, root: str, encryption_key: bytes | None = None) -> None:
        from fsspec.core import url_to_fs

        from mainsail.store._crypto import Cipher

        self.cipher = Cipher(encryption_key) if encryption_key else None
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
            if not self.fs.exists(final):
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
