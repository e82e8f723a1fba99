"""The process-wide connection to a store, built from settings on first use."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

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

    @property
    def is_remote(self) -> bool:
        """True when the store is a Mainsail server (``MAINSAIL_TRACKING_URI``)."""
        return not isinstance(self.store, SqlStore)

    def close(self) -> None:
        if isinstance(self.store, SqlStore):
            self.store.db.dispose()
        else:
            self.store.close()


_lock = threading.Lock()
_context: Context | None = None


def build_context(settings: Settings) -> Context:
    if settings.tracking_uri and settings.tracking_uri.startswith(("http://", "https://")):
        return _rest_context(settings)
    db = Database(settings.resolved_database_url(), busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    return Context(
        settings=settings,
        store=SqlStore(db),
        artifacts=ArtifactStore(settings.resolved_artifact_root(), _key(settings)),
    )


def _rest_context(settings: Settings) -> Context:
    """Store and artifacts through a Mainsail server; the token is never logged."""
    from mainsail.store._rest_store import RestArtifactStore, RestClient, RestStore

    token = settings.token.get_secret_value() if settings.token is not None else None
    client = RestClient(str(settings.tracking_uri), token=token)
    # The REST store implements the same public methods as SqlStore (the contract suite
    # runs over both), so callers keep one type.
    return Context(
        settings=settings,
        store=cast(SqlStore, RestStore(client)),
        artifacts=RestArtifactStore(client),
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
            _context.close()
        reset_settings()
        _context = build_context(Settings(**settings)) if settings else None
    return get_context()


def reset() -> None:
    """Forget the current context (the next call rebuilds it from the environment)."""
    global _context
    with _lock:
        if _context is not None:
            _context.close()
        _context = None
        reset_settings()
