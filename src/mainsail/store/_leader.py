"""Leader election: one process in the fleet runs the controllers.

PostgreSQL: a session-level advisory lock held on a dedicated connection (it is released
by the server if the process dies). SQLite: an exclusive file lock beside the database file
(released by the OS if the process dies). The SQL store hands one out by name
(:meth:`LeaderStoreMixin.leader_lock`), so controllers never reach the database themselves.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mainsail.core._errors import InvalidValueError
from mainsail.store._db import Database

log = logging.getLogger("mainsail.controllers")  # what it elects, for operators' filters

_PG_LEADER_LOCK = 0x6D73_6C64  # "msld"
_memory_locks: dict[str, threading.Lock] = {}


class LeaderLock:
    """Try to become the leader without blocking; check that leadership still holds.

    Examples
    --------
    >>> lock = LeaderLock(Database("sqlite:////tmp/ms-doc/mainsail.db"))  # doctest: +SKIP
    >>> lock = store.leader_lock("controllers")  # the same, from a LocalStore  # doctest: +SKIP
    >>> lock.try_acquire()  # doctest: +SKIP
    True
    """

    def __init__(self, db: Database, name: str = "controllers") -> None:
        self.db = db
        self.name = name
        self._held = False
        self._conn: Connection | None = None
        self._file_lock: object | None = None
        self._mem_lock: threading.Lock | None = None

    @property
    def held(self) -> bool:
        return self._held

    def try_acquire(self) -> bool:
        """Become the leader if nobody is; ``True`` if this process now leads."""
        if self._held:
            return self.still_held()
        if self.db.is_sqlite:
            self._held = self._acquire_sqlite()
        else:
            self._held = self._acquire_pg()
        if self._held:
            log.info("became leader for %s", self.name)
        return self._held

    def still_held(self) -> bool:
        """``False`` when the lock was lost (the PostgreSQL connection dropped)."""
        if not self._held:
            return False
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT 1"))
            except Exception:  # noqa: BLE001 - any failure means the session (and lock) is gone
                log.warning("lost the leader connection; leadership released")
                self._drop_pg()
                self._held = False
        return self._held

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self._key()})
            except Exception:  # noqa: BLE001 - closing the session releases it anyway
                pass
            self._drop_pg()
        if self._file_lock is not None:
            self._file_lock.release()  # type: ignore[attr-defined]
            self._file_lock = None
        if self._mem_lock is not None:
            self._mem_lock.release()
            self._mem_lock = None

    # -- backends ----------------------------------------------------------------------------
    def _key(self) -> int:
        return _PG_LEADER_LOCK + sum(self.name.encode()) % 1000

    def _acquire_pg(self) -> bool:
        conn = self.db.engine.connect()
        try:
            got = bool(
                conn.execute(
                    sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key()}
                ).scalar()
            )
            conn.commit()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def _drop_pg(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001
                pass
            self._conn = None

    def _acquire_sqlite(self) -> bool:
        path = sa.engine.make_url(self.db.url).database
        if not path or path == ":memory:":
            lock = _memory_locks.setdefault(self.name, threading.Lock())
            if lock.acquire(blocking=False):
                self._mem_lock = lock
                return True
            return False
        from filelock import FileLock, Timeout

        file_lock = FileLock(str(Path(path).absolute()) + f".{self.name}.lock")
        try:
            file_lock.acquire(timeout=0)
        except Timeout:
            return False
        self._file_lock = file_lock
        return True


class LeaderStoreMixin:
    """The leader lock of the SQL store; mixed into :class:`~mainsail.store.SqlStore`."""

    db: Database

    def leader_lock(self, name: str = "controllers") -> LeaderLock:
        """A lock (not yet taken) that elects one leader per ``name`` over this database."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidValueError(
                f"A leader lock needs a non-empty name, e.g. 'controllers'. Got {name!r}."
            )
        return LeaderLock(self.db, name)


__all__ = ["LeaderLock", "LeaderStoreMixin"]
