"""Engine creation, SQLite pragmas and schema migration on first use."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mainsail.core._errors import (
    HomeNotWritableError,
    SchemaVersionError,
    StoreUnavailableError,
)
from mainsail.store._tables import SCHEMA_REVISION

_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 0x6D61696E  # "main"


def _redact(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable url>"


class Database:
    """A metadata database: SQLite (embedded) or PostgreSQL, same code.

    Writes go through :meth:`write`, which on SQLite takes the write lock up front
    (``BEGIN IMMEDIATE``) so two processes never deadlock upgrading a read lock.

    Examples
    --------
    >>> db = Database("sqlite:///:memory:")  # doctest: +SKIP
    >>> with db.write() as conn: ...  # doctest: +SKIP
    """

    def __init__(self, url: str, busy_timeout_ms: int = 30000) -> None:
        self.url = url
        self.busy_timeout_ms = busy_timeout_ms
        self.is_sqlite = url.startswith("sqlite")
        self._check_sqlite_home()
        self.engine: Engine = self._make_engine(immediate=False)
        self._write_engine: Engine = (
            self._make_engine(immediate=True) if self.is_sqlite else self.engine
        )
        try:
            self.ensure_schema()
        except BaseException:
            self.dispose()
            raise

    # -- engines ---------------------------------------------------------------------------
    def _check_sqlite_home(self) -> None:
        if not self.is_sqlite:
            return
        db_path = sa.engine.make_url(self.url).database
        if not db_path or db_path == ":memory:":
            return
        folder = Path(db_path).absolute().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".write-probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise HomeNotWritableError(
                f"Expected a writable folder for the SQLite database at '{folder}'. "
                f"Found: {exc.strerror or exc}. Set MAINSAIL_HOME to a folder you can write to, "
                "or MAINSAIL_DATABASE_URL to another database."
            ) from exc

    def _make_engine(self, immediate: bool) -> Engine:
        if not self.is_sqlite:
            return sa.create_engine(self.url, pool_pre_ping=True, pool_size=5, max_overflow=10)
        engine = sa.create_engine(
            self.url,
            connect_args={"timeout": self.busy_timeout_ms / 1000, "check_same_thread": False},
        )
        busy = self.busy_timeout_ms

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={int(busy)}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn):  # type: ignore[no-untyped-def]
            conn.exec_driver_sql(begin)

        return engine

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a read transaction."""
        with self._translate(), self.engine.connect() as conn:
            yield conn
            conn.rollback()

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a write transaction, committed on success, rolled back on error."""
        with self._translate(), self._write_engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.OperationalError as exc:
            if "locked" in str(exc.orig):
                raise
            if _is_connect_error(exc):
                raise StoreUnavailableError(
                    f"Expected a reachable metadata database at {_redact(self.url)}. "
                    f"Connecting failed: {str(exc.orig).strip().splitlines()[0]}. "
                    "Check that the server is running and MAINSAIL_DATABASE_URL is right "
                    "(run 'mainsail doctor')."
                ) from exc
            raise

    def dispose(self) -> None:
        self.engine.dispose()
        if self._write_engine is not self.engine:
            self._write_engine.dispose()

    # -- schema ----------------------------------------------------------------------------
    def current_revision(self) -> str | None:
        with self.read() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def ensure_schema(self) -> None:
        """Create or upgrade the schema; refuse a database newer than this code."""
        if self.current_revision() == SCHEMA_REVISION:
            return
        with self._migration_lock() as conn:
            rev = _revision_on(conn)
            if rev == SCHEMA_REVISION:
                return
            if rev is None and not _has_tables(conn):
                # A fresh database: create the head schema directly and stamp it. Same
                # result as replaying every migration (a test checks), without importing
                # Alembic on the first run of every new home.
                from mainsail.store._tables import metadata

                metadata.create_all(conn)
                conn.execute(
                    sa.text(
                        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
                    )
                )
                conn.execute(
                    sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": SCHEMA_REVISION}
                )
                return
            known = _known_revisions()
            if rev is not None and rev not in known:
                raise SchemaVersionError(
                    f"The database at {_redact(self.url)} has schema revision '{rev}', "
                    f"newer than this Mainsail knows (up to '{SCHEMA_REVISION}'). "
                    "Upgrade Mainsail (pip install -U mainsail) or point MAINSAIL_DATABASE_URL "
                    "at another database."
                )
            _alembic_upgrade(conn)

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[Connection]:
        with self.write() as conn:
            if not self.is_sqlite:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            yield conn


def _has_tables(conn: Connection) -> bool:
    return bool(sa.inspect(conn).get_table_names())


def _revision_on(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _alembic_config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config())
    return {rev.revision for rev in script.walk_revisions()}


def _alembic_upgrade(conn: Connection) -> None:
    from alembic import command

    cfg = _alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def _is_connect_error(exc: sa.exc.OperationalError) -> bool:
    text = str(exc.orig).lower()
    return any(
        s in text
        for s in (
            "connection refused",
            "could not connect",
            "unable to open database",
            "connection failed",
            "does not exist",
            "timeout",
            "could not translate host",
        )
    )
