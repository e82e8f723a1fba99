"""The SDK's composition root: the process-wide :class:`Context`, built from settings on first use.

This is the one place below the CLI that resolves "the" context; domain functions take it
as a parameter. Embedded (default) the store is SQL on a local file; with
``MAINSAIL_TRACKING_URI`` it is the REST store of a Mainsail server.
"""

from __future__ import annotations

import threading
from typing import Any

from mainsail.core._settings import Settings, get_settings, reset_settings
from mainsail.store._artifacts import ArtifactStore
from mainsail.store._context import Context
from mainsail.store._db import Database
from mainsail.store._sql_store import SqlStore

_lock = threading.Lock()
_context: Context | None = None


def build_context(settings: Settings) -> Context:
    """A new context for ``settings``: the REST store for an http(s) tracking URI, else SQL."""
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
    return Context(
        settings=settings,
        store=RestStore(client),
        artifacts=RestArtifactStore(client),
        remote=client,
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
