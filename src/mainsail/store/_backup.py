"""Backup and restore: every metadata table as JSON, the artifact manifest, and the blobs.

A backup is a folder:

- ``metadata.json``: format, schema revision, rows per table, read in **one snapshot**
  (a REPEATABLE READ transaction on PostgreSQL, one read transaction on SQLite), so rows
  written while the backup runs are all in it or all out of it;
- ``blobs/sha256/<d[:2]>/<d>``: every artifact blob, copied as stored (an encrypted blob
  stays encrypted: restore it into a store with the same ``MAINSAIL_ENCRYPTION_KEY``);
- ``artifacts.json``, written last: each blob's digest, stored size and the SHA-256 of its
  stored bytes, the SHA-256 of ``metadata.json``, and whether the blobs were copied
  (``copy_blobs=False`` writes the manifest only; the CLI says so loudly).

Restore verifies everything before it writes anything: the manifest, ``metadata.json``
against its hash, every copied blob against its hash (or, for a backup without blob copies,
that the target artifact store already holds each blob), the schema revision and that the
database is empty. Then it copies the blobs and inserts every row in one transaction; if
that fails, the blobs it added are removed again: all or nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mainsail.core._errors import ConflictError, CorruptedArtifactError, InvalidValueError
from mainsail.core._ids import now_ms
from mainsail.store import _tables as t
from mainsail.store.protocols.maintenance import BackupReport, RestoreReport

if TYPE_CHECKING:
    from mainsail.store._artifacts import ArtifactStore
    from mainsail.store._db import Database

FORMAT = 2
_READABLE = (1, 2)  # format 1: no blob copies, no hashes
_CHUNK = 1 << 20


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@contextlib.contextmanager
def snapshot(db: Database) -> Iterator[Connection]:
    """A read transaction that sees one point in time across every statement.

    PostgreSQL's default READ COMMITTED gives each statement its own snapshot, so a backup
    reading table by table could hold a run without its experiment; REPEATABLE READ (read
    only) holds one snapshot for the whole transaction. SQLite's read transaction already
    does (WAL mode).
    """
    with db.read() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        yield conn


def _blob_file(folder: Path, digest: str) -> Path:
    return folder / "blobs" / "sha256" / digest[:2] / digest


def _copy_out(artifacts: ArtifactStore, digest: str, dest: Path) -> tuple[int, str]:
    """Copy the blob's stored bytes to ``dest``; returns (size, sha256 of the bytes)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    h, size = hashlib.sha256(), 0
    tmp = dest.with_name(dest.name + ".part")
    with artifacts.fs.open(artifacts._blob_path(digest), "rb") as src, open(tmp, "wb") as out:
        while chunk := src.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
            out.write(chunk)
    os.replace(tmp, dest)
    return size, h.hexdigest()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def write_backup(
    db: Database, artifacts: ArtifactStore, out: Path, copy_blobs: bool = True
) -> BackupReport:
    if out.exists() and any(out.iterdir()):
        raise ConflictError(
            f"Expected an empty or new folder for the backup; {out} has files. "
            "Pick another folder so an older backup is never overwritten."
        )
    out.mkdir(parents=True, exist_ok=True)
    tables: dict[str, list[dict[str, Any]]] = {}
    revision = db.current_revision()
    with snapshot(db) as conn:  # one snapshot for every table
        for table in t.metadata.sorted_tables:
            rows = conn.execute(sa.select(table)).all()
            tables[table.name] = [dict(r._mapping) for r in rows]
    meta = {"format": FORMAT, "schema_revision": revision, "created_at": now_ms(), "tables": tables}
    data = orjson.dumps(meta, default=str, option=orjson.OPT_NON_STR_KEYS)
    _atomic_write(out / "metadata.json", data)
    blobs: list[dict[str, Any]] = []
    copied_bytes = 0
    for digest in sorted(artifacts.iter_digests()):
        if copy_blobs:
            size, stored = _copy_out(artifacts, digest, _blob_file(out, digest))
            copied_bytes += size
            blobs.append({"digest": digest, "size": size, "stored_sha256": stored})
        else:
            blobs.append({"digest": digest, "size": artifacts.size(digest)})
    manifest = {
        "format": FORMAT,
        "root": artifacts.root_url,
        "metadata_sha256": hashlib.sha256(data).hexdigest(),
        "blobs_copied": copy_blobs,
        "blobs": blobs,
    }
    # written last: a backup without it is incomplete, and restore refuses it
    _atomic_write(out / "artifacts.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return BackupReport(
        tables=len(tables),
        rows=sum(len(v) for v in tables.values()),
        blobs=len(blobs),
        blobs_copied=copy_blobs,
        blob_bytes=copied_bytes,
    )


def _load(folder: Path) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    try:
        data = (folder / "metadata.json").read_bytes()
        manifest = orjson.loads((folder / "artifacts.json").read_bytes())
    except FileNotFoundError as exc:
        raise InvalidValueError(
            f"Expected a backup folder with metadata.json and artifacts.json; {exc.filename} "
            "is missing (a backup that did not finish has no artifacts.json). Point at a "
            "folder written by 'mainsail backup'."
        ) from None
    except orjson.JSONDecodeError as exc:
        raise InvalidValueError(
            f"The backup's artifacts.json in {folder} is not valid JSON ({exc}). It was "
            "damaged; use another backup."
        ) from None
    expected = manifest.get("metadata_sha256")
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise InvalidValueError(
            f"The backup's metadata.json in {folder} does not match the hash in "
            "artifacts.json: it was changed or damaged after the backup. Nothing was "
            "restored; use another backup."
        )
    try:
        meta = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidValueError(
            f"The backup's metadata.json in {folder} is not valid JSON ({exc})."
        ) from None
    return meta, manifest, data


def verify_backup(
    db: Database, artifacts: ArtifactStore, folder: Path
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Check a backup before anything is written; returns (metadata, blobs to copy in)."""
    meta, manifest, _ = _load(folder)
    if meta.get("format") not in _READABLE:
        raise InvalidValueError(
            f"Backup format {meta.get('format')!r} is not supported; expected one of "
            f"{', '.join(map(str, _READABLE))}."
        )
    if meta.get("schema_revision") != db.current_revision():
        raise InvalidValueError(
            f"The backup is at schema revision {meta.get('schema_revision')}; this database is "
            f"at {db.current_revision()}. Restore with the Mainsail version that wrote it, then "
            "upgrade."
        )
    copied = bool(manifest.get("blobs_copied", False))
    to_copy: list[dict[str, Any]] = []
    missing: list[str] = []
    damaged: list[str] = []
    encrypted: dict[str, Any] | None = None
    from mainsail.store._crypto import is_encrypted

    for blob in manifest.get("blobs", []):
        digest = str(blob.get("digest"))
        if copied:
            path = _blob_file(folder, digest)
            if not path.is_file():
                missing.append(digest)
            elif _file_sha256(path) != blob.get("stored_sha256"):
                damaged.append(digest)
            else:
                with open(path, "rb") as f:
                    if encrypted is None and is_encrypted(f.read(4)):
                        encrypted = blob
                if not artifacts.exists(digest):
                    to_copy.append(blob)
        elif not artifacts.exists(digest):
            missing.append(digest)
    if damaged:
        raise CorruptedArtifactError(
            f"{len(damaged)} blob(s) in the backup at {folder} do not match their hash in "
            f"artifacts.json (first: sha256:{damaged[0]}): the backup was damaged. Nothing "
            "was restored; use another backup."
        )
    if missing:
        where = (
            f"the backup's blobs folder ({folder / 'blobs'})"
            if copied
            else f"the artifact store at {artifacts.root_url} (this backup holds no blobs)"
        )
        raise InvalidValueError(
            f"{len(missing)} artifact blob(s) listed in the backup are not in {where}; first: "
            f"sha256:{missing[0]}. Nothing was restored. "
            + (
                "Use a complete backup."
                if copied
                else "Copy the artifact storage of the backed-up store "
                f"({manifest.get('root')}) to {artifacts.root_url} first, then restore again."
            )
        )
    if encrypted is not None:  # the target must read what it is about to hold
        _check_key(artifacts, _blob_file(folder, str(encrypted["digest"])), encrypted["digest"])
    with db.read() as conn:
        for table in t.metadata.sorted_tables:
            if conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one():
                raise ConflictError(
                    f"Restore needs an empty database; table {table.name!r} has rows. "
                    "Restore into a fresh database (new MAINSAIL_DATABASE_URL or home)."
                )
    return meta, to_copy


def _check_key(artifacts: ArtifactStore, path: Path, digest: str) -> None:
    if artifacts.cipher is None:
        raise InvalidValueError(
            "The backup holds encrypted blobs and this artifact store has no key: set "
            "MAINSAIL_ENCRYPTION_KEY to the key of the backed-up store, then restore again. "
            "Nothing was restored."
        )
    h = hashlib.sha256()
    try:
        with open(path, "rb") as src:
            for chunk in artifacts.cipher.decrypt_stream(src, f"sha256:{digest}"):
                h.update(chunk)
    except CorruptedArtifactError:
        raise InvalidValueError(
            "The backup's encrypted blobs cannot be read with this store's "
            "MAINSAIL_ENCRYPTION_KEY: set the key of the backed-up store, then restore again. "
            "Nothing was restored."
        ) from None
    if h.hexdigest() != digest:
        raise CorruptedArtifactError(f"Blob sha256:{digest} in the backup is damaged.")


def read_backup(db: Database, artifacts: ArtifactStore, folder: Path) -> RestoreReport:
    meta, to_copy = verify_backup(db, artifacts, folder)
    tables: dict[str, list[dict[str, Any]]] = meta["tables"]
    added: list[str] = []
    total = 0
    try:
        for blob in to_copy:
            artifacts.put_stored(str(blob["digest"]), _blob_file(folder, str(blob["digest"])))
            added.append(str(blob["digest"]))
        with db.write() as conn:
            for table in t.metadata.sorted_tables:
                rows = tables.get(table.name, [])
                if rows:
                    conn.execute(table.insert(), rows)
                    total += len(rows)
            if conn.dialect.name == "postgresql":
                _reset_sequences(conn, tables)
    except BaseException:
        for digest in added:  # all or nothing: the blobs this restore added go again
            with contextlib.suppress(Exception):
                artifacts.delete(digest)
        raise
    return RestoreReport(tables=len(tables), rows=total, missing=[], blobs=len(added))


def _reset_sequences(conn: Connection, tables: dict[str, list[dict[str, Any]]]) -> None:
    for table in t.metadata.sorted_tables:
        col = table.c.get("id")
        if col is not None and col.autoincrement is True and tables.get(table.name):
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f'(SELECT MAX(id) FROM "{table.name}"))'
                )
            )
