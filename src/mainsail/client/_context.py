"""The SDK's composition root: the process-wide :class:`Context`, built from settings on first use.

This is the one place below the CLI that resolves "the" context; domain functions take it
as a parameter. Embedded (default) the store is SQL on a local file; with
``MAINSAIL_TRACKING_URI`` it is the REST store of a Mainsail server.
"""

from __future__ import annotations

import threading
from typing import Any

from mainsail.core._settings import Settings, get_settings, reset_settings
from mainsail.store._context import Context, open_context

_lock = threading.Lock()
_context: Context | None = None


def build_context(settings: Settings) -> Context:
    """A new context for ``settings`` (see :func:`mainsail.store.open_context`)."""
    return open_context(settings)


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
