"""Backup and restore: every metadata table as JSON, plus the artifact manifest.

A backup is a folder: ``metadata.json`` (format, schema revision, rows per table) and
``artifacts.json`` (every blob digest and stored size). Blobs themselves stay in the
artifact storage (copy the folder or bucket with its own tools); restore checks they are
all there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from mainsail.core._errors import ConflictError, InvalidValueError
from mainsail.core._ids import now_ms
from mainsail.store import _tables as t
from mainsail.store.protocols.maintenance import BackupReport, RestoreReport

if TYPE_CHECKING:
    from mainsail.store._artifacts import ArtifactStore
    from mainsail.store._db import Database

FORMAT = 1


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_backup(db: Database, artifacts: ArtifactStore, out: Path) -> BackupReport:
    if out.exists() and any(out.iterdir()):
        raise ConflictError(
            f"Expected an empty or new folder for the backup; {out} has files. "
            "Pick another folder so an older backup is never overwritten."
        )
    out.mkdir(parents=True, exist_ok=True)
    tables: dict[str, list[dict[str, Any]]] = {}
    with db.read() as conn:  # one transaction: a consistent snapshot
        for table in t.metadata.sorted_tables:
            rows = conn.execute(sa.select(table)).all()
            tables[table.name] = [dict(r._mapping) for r in rows]
        revision = db.current_revision()
    blobs = [{"digest": d, "size": artifacts.size(d)} for d in sorted(artifacts.iter_digests())]
    meta = {"format": FORMAT, "schema_revision": revision, "created_at": now_ms(), "tables": tables}
    _atomic_write(
        out / "metadata.json", orjson.dumps(meta, default=str, option=orjson.OPT_NON_STR_KEYS)
    )
    _atomic_write(
        out / "artifacts.json",
        orjson.dumps({"root": artifacts.root_url, "blobs": blobs}, option=orjson.OPT_INDENT_2),
    )
    return BackupReport(
        tables=len(tables), rows=sum(len(v) for v in tables.values()), blobs=len(blobs)
    )


def read_backup(db: Database, artifacts: ArtifactStore, folder: Path) -> RestoreReport:
    try:
        meta = orjson.loads((folder / "metadata.json").read_bytes())
        manifest = orjson.loads((folder / "artifacts.json").read_bytes())
    except FileNotFoundError as exc:
        raise InvalidValueError(
            f"Expected a backup folder with metadata.json and artifacts.json; {exc.filename} "
            "is missing. Point at a folder written by 'mainsail backup'."
        ) from None
    if meta.get("format") != FORMAT:
        raise InvalidValueError(
            f"Backup format {meta.get('format')!r} is not supported; expected {FORMAT}."
        )
    if meta.get("schema_revision") != db.current_revision():
        raise InvalidValueError(
            f"The backup is at schema revision {meta.get('schema_revision')}; this database is "
            f"at {db.current_revision()}. Restore with the Mainsail version that wrote it, then "
            "upgrade."
        )
    tables: dict[str, list[dict[str, Any]]] = meta["tables"]
    total = 0
    with db.write() as conn:
        for table in t.metadata.sorted_tables:
            if conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one():
                raise ConflictError(
                    f"Restore needs an empty database; table {table.name!r} has rows. "
                    "Restore into a fresh database (new MAINSAIL_DATABASE_URL or home)."
                )
        for table in t.metadata.sorted_tables:
            rows = tables.get(table.name, [])
            if rows:
                conn.execute(table.insert(), rows)
                total += len(rows)
        if conn.dialect.name == "postgresql":
            for table in t.metadata.sorted_tables:
                col = table.c.get("id")
                if col is not None and col.autoincrement is True and tables.get(table.name):
                    conn.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f'(SELECT MAX(id) FROM "{table.name}"))'
                        )
                    )
    missing = [b["digest"] for b in manifest.get("blobs", []) if not artifacts.exists(b["digest"])]
    return RestoreReport(tables=len(tables), rows=total, missing=missing)
