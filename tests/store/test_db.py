from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from mainsail.core import HomeNotWritableError, SchemaVersionError, StoreUnavailableError
from mainsail.store import SCHEMA_REVISION, Database
from mainsail.store._db import _known_revisions


def test_schema_revision_constant_matches_alembic_head() -> None:
    from alembic.script import ScriptDirectory

    from mainsail.store._db import _alembic_config

    assert ScriptDirectory.from_config(_alembic_config()).get_current_head() == SCHEMA_REVISION
    assert SCHEMA_REVISION in _known_revisions()


def test_schema_created_on_first_use(db_url: str) -> None:
    db = Database(db_url)
    assert db.current_revision() == SCHEMA_REVISION
    with db.read() as conn:
        assert sa.inspect(conn).has_table("runs")
    Database(db_url).dispose()  # second open is a no-op
    db.dispose()


def test_newer_database_is_refused(db_url: str) -> None:
    db = Database(db_url)
    with db.write() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    db.dispose()
    with pytest.raises(SchemaVersionError, match="revision '9999', newer than this Mainsail"):
        Database(db_url)


def test_sqlite_pragmas(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    db.dispose()


def test_unwritable_home_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(HomeNotWritableError, match="Set MAINSAIL_HOME"):
        Database(f"sqlite:///{blocker / 'sub' / 'm.db'}")


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(StoreUnavailableError, match="Expected a reachable metadata database"):
        Database("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")


def test_unreachable_database_hides_password() -> None:
    with pytest.raises(StoreUnavailableError) as info:
        Database("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    assert "secret" not in str(info.value)


def test_fresh_schema_matches_the_migrations(tmp_path: Path, db_url: str) -> None:
    """create_all + stamp (fresh homes) and replaying migrations give the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from mainsail.store._db import _alembic_upgrade
    from mainsail.store._tables import metadata

    migrated_url = f"sqlite:///{tmp_path / 'migrated.db'}"
    if db_url.startswith("postgresql"):
        migrated_url = db_url  # an empty database per test
    engine = sa.create_engine(migrated_url)
    with engine.begin() as conn:
        _alembic_upgrade(conn)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []
    fresh = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert fresh.current_revision() == SCHEMA_REVISION
    fresh.dispose()


def test_an_older_database_is_upgraded_on_first_use(tmp_path: Path) -> None:
    from alembic import command

    from mainsail.store._db import _alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    engine.dispose()
    db = Database(url)
    assert db.current_revision() == SCHEMA_REVISION
    with db.read() as conn:
        assert sa.inspect(conn).has_table("model_versions")
    db.dispose()


def test_the_0004_upgrade_keeps_version_numbers_past_the_highest(tmp_path: Path) -> None:
    """Models registered before 0004 continue after their highest surviving version."""
    from alembic import command

    from mainsail.store import SqlStore
    from mainsail.store._db import _alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        conn.execute(sa.text("INSERT INTO models (name, created_at) VALUES ('churn', 0)"))
        for v in (1, 2, 7):
            conn.execute(
                sa.text(
                    "INSERT INTO model_versions (model_id, version, flavor, manifest_digest, "
                    "files, size_bytes, signature, task, metrics, datasets, tags, card, "
                    "allow_pickle, status, created_at) VALUES (1, :v, 'sklearn', 'a', '{}', 1, "
                    "'{}', 'classification', '{}', '[]', '{}', '{}', 0, 'ready', 0)"
                ),
                {"v": v},
            )
    engine.dispose()
    store = SqlStore(Database(url))
    store.delete_model_version("churn", 7)
    fields = dict(
        flavor="sklearn", manifest_digest="b", files={}, size_bytes=1, signature={},
        task="classification", metrics={}, datasets=[], tags={}, card={}, allow_pickle=False,
    )  # fmt: skip
    assert store.create_model_version("churn", **fields).version == 8
    store.db.dispose()
