"""The process-wide connection to a store, built from settings on first use."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mainsail.core._settings import Settings, get_settings, reset_settings
from mainsail.store._artifacts import ArtifactStore
from mainsail.store._db import Database
from mainsail.store._sql_store import SqlStore


@dataclass
class Context:
    settings: Settings
    store: SqlStore
    artifacts: ArtifactStore

    @property
    def home(self) -> Path:
        return self.settings.resolved_home()


_lock = threading.Lock()
_context: Context | None = None


def build_context(settings: Settings) -> Context:
    db = Database(settings.resolved_database_url(), busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    return Context(
        settings=settings,
        store=SqlStore(db),
        artifacts=ArtifactStore(settings.resolved_artifact_root(), _key(settings)),
    )


def _key(settings: Settings) -> bytes | None:
    if settings.encryption_key is None:
        return None
    from mainsail.store._crypto import parse_key

    return parse_key(settings.encryption_key.get_secret_value())


def get_context() -> Context:
    """The current context; created from ``MAINSAIL_*`` settings the first time."""
    global _context
    if _context is None:
        with _lock:
            if _context is None:
                _context = build_context(get_settings())
    return _context


def configure(**settings: Any) -> Context:
    """Point the SDK at another home, database or artifact root.

    Examples
    --------
    >>> import mainsail
    >>> ctx = mainsail.configure(home="/tmp/mainsail-doc")  # doctest: +SKIP
    """
    global _context
    from mainsail.tracking._run import end_all_runs

    end_all_runs()
    with _lock:
        if _context is not None:
            _context.store.db.dispose()
        reset_settings()
        _context = build_context(Settings(**settings)) if settings else None
    return get_context()


def reset() -> None:
    """Forget the current context (the next call rebuilds it from the environment)."""
    global _context
    with _lock:
        if _context is not None:
            _context.store.db.dispose()
        _context = None
        reset_settings()
