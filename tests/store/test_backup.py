"""Backups hold the blobs and one snapshot of the metadata; restore verifies everything
before writing and is all or nothing; doctor finds missing and damaged blobs."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

import mainsail
from mainsail.core import ConflictError, CorruptedArtifactError, InvalidValueError
from mainsail.store import ArtifactStore, Database, SqlStore
from mainsail.store import _tables as t
from mainsail.store._backup import read_backup, write_backup

Cli = Callable[..., tuple[int, str, str]]


def _project(home: Path) -> tuple[str, str]:
    """A run with a logged artifact in a fresh embedded home; returns (run id, digest)."""
    mainsail.configure(home=str(home))
    with mainsail.start_run(experiment="e") as run:
        mainsail.log_metric("m", 1.0)
        note = home.parent / f"{home.name}-note.txt"
        note.write_text("the artifact")
        mainsail.log_artifact(note)
    digest = mainsail.get_run(run.id).artifacts[0].digest
    return run.id, digest


def _empty(home: Path) -> Any:
    ctx = mainsail.configure(home=str(home))
    return ctx


def test_backup_copies_blobs_and_restore_brings_them_back(tmp_path: Path, cli: Cli) -> None:
    run_id, digest = _project(tmp_path / "a")
    code, out, err = cli("backup", str(tmp_path / "bk"))
    assert code == 0, err
    assert "artifact blobs" in out and "NOT copied" not in err
    assert (tmp_path / "bk" / "blobs" / "sha256" / digest[:2] / digest).is_file()
    ctx = _empty(tmp_path / "b")
    code, out, err = cli("restore", str(tmp_path / "bk"))
    assert code == 0, err
    assert mainsail.get_run(run_id).metrics == {"m": 1.0}
    assert ctx.artifacts.get_bytes(digest) == b"the artifact"
    code, out, err = cli("doctor", "--json")
    assert code == 0, out
    assert ["referenced blobs", True, "all 1 exist and verify"] in json.loads(out)["checks"]


def _rows(db: Database) -> int:
    with db.read() as conn:
        return sum(
            conn.execute(sa.select(sa.func.count()).select_from(tb)).scalar_one()
            for tb in t.metadata.sorted_tables
            if tb.name != "alembic_version"
        )


def test_restore_verifies_everything_before_writing(tmp_path: Path) -> None:
    _, digest = _project(tmp_path / "a")
    src = mainsail.get_context()
    write_backup(src.store.db, src.artifacts, tmp_path / "bk")
    ctx = _empty(tmp_path / "b")
    db, artifacts = ctx.store.db, ctx.artifacts
    before = _rows(db)
    blob = tmp_path / "bk" / "blobs" / "sha256" / digest[:2] / digest
    good = blob.read_bytes()
    blob.write_bytes(b"damaged")
    with pytest.raises(CorruptedArtifactError, match="do not match their hash"):
        read_backup(db, artifacts, tmp_path / "bk")
    blob.unlink()
    with pytest.raises(InvalidValueError, match="not in the backup's blobs folder"):
        read_backup(db, artifacts, tmp_path / "bk")
    blob.write_bytes(good)
    meta = tmp_path / "bk" / "metadata.json"
    original = meta.read_bytes()
    meta.write_bytes(original.replace(b'"m"', b'"n"'))
    with pytest.raises(InvalidValueError, match="metadata.json .* does not match the hash"):
        read_backup(db, artifacts, tmp_path / "bk")
    meta.write_bytes(original)
    assert _rows(db) == before and list(artifacts.iter_digests()) == []  # nothing written
    assert read_backup(db, artifacts, tmp_path / "bk").blobs == 1
    with pytest.raises(ConflictError, match="needs an empty database"):
        read_backup(db, artifacts, tmp_path / "bk")


def test_a_failed_restore_leaves_nothing_behind(tmp_path: Path) -> None:
    _, digest = _project(tmp_path / "a")
    src = mainsail.get_context()
    write_backup(src.store.db, src.artifacts, tmp_path / "bk")
    # a backup that passes every check but cannot be inserted: a duplicated primary key
    meta_path, manifest_path = tmp_path / "bk" / "metadata.json", tmp_path / "bk" / "artifacts.json"
    meta = orjson.loads(meta_path.read_bytes())
    meta["tables"]["runs"].append(meta["tables"]["runs"][0])
    data = orjson.dumps(meta)
    meta_path.write_bytes(data)
    manifest = orjson.loads(manifest_path.read_bytes())
    manifest["metadata_sha256"] = hashlib.sha256(data).hexdigest()
    manifest_path.write_bytes(orjson.dumps(manifest))
    ctx = _empty(tmp_path / "b")
    with pytest.raises(Exception):  # noqa: B017 - whatever the database raises
        read_backup(ctx.store.db, ctx.artifacts, tmp_path / "bk")
    assert _rows(ctx.store.db) == 0
    assert not ctx.artifacts.exists(digest)  # the blob it had copied in went again


def test_a_backup_without_blobs_says_so_and_restore_refuses_without_them(
    tmp_path: Path, cli: Cli
) -> None:
    _project(tmp_path / "a")
    code, out, err = cli("backup", str(tmp_path / "bk"), "--no-blobs")
    assert code == 0, err
    assert "NOT copied" in " ".join(err.split()) and "copy" in err
    _empty(tmp_path / "b")
    code, out, err = cli("restore", str(tmp_path / "bk"))
    assert code == 1
    assert "Nothing was restored" in " ".join(err.split())
    assert _rows(mainsail.get_context().store.db) == 0


def test_doctor_finds_missing_and_damaged_blobs(tmp_path: Path, cli: Cli) -> None:
    run_id, digest = _project(tmp_path / "a")
    artifacts = mainsail.get_context().artifacts
    path = Path(artifacts._blob_path(digest))
    path.write_bytes(b"bit rot")
    code, out, err = cli("doctor")
    assert code == 1
    assert "do not verify" in " ".join(out.split())
    path.unlink()
    code, out, err = cli("doctor", "--quick", "--json")
    assert code == 1
    checks = {c[0]: c for c in json.loads(out)["checks"]}
    assert checks["referenced blobs"][1] is False and "1 missing" in checks["referenced blobs"][2]


def test_backup_on_postgres_is_one_snapshot(pg_url: str, tmp_path: Path) -> None:
    """Rows committed while the backup reads table by table are all in it or all out."""
    store = SqlStore(Database(pg_url))
    artifacts = ArtifactStore(str(tmp_path / "art"))
    store.create_run("a" * 32, "before", "r")
    fired = threading.Event()

    def write_between_tables(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # once the backup has read the experiments, a run in a new experiment commits
        if not fired.is_set() and "FROM experiments" in statement:
            fired.set()
            other = SqlStore(Database(pg_url))
            other.create_run("b" * 32, "during", "r")
            other.db.dispose()

    sa.event.listen(store.db.engine, "after_cursor_execute", write_between_tables)
    try:
        write_backup(store.db, artifacts, tmp_path / "bk")
    finally:
        sa.event.remove(store.db.engine, "after_cursor_execute", write_between_tables)
    assert fired.is_set()
    tables = orjson.loads((tmp_path / "bk" / "metadata.json").read_bytes())["tables"]
    experiments = {e["id"] for e in tables["experiments"]}
    assert [r["id"] for r in tables["runs"]] == ["a" * 32]
    assert {r["experiment_id"] for r in tables["runs"]} <= experiments
    store.db.dispose()
