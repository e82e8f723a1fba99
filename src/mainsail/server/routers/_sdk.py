"""Run SDK functions (which call ``get_context()``) against the server's own context.

The domain packages (rollout, checks, automation) read the process-wide SDK context.
``mainsail server`` installs its context as that one (:func:`install`), and a server built
with ``create_app()`` and no context uses it already, so binding is a no-op there. A server
built over another context (tests, embedding) binds it for the duration of a call; those
calls are serialised by a lock so no other request sees a half-swapped context.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from mainsail.store._context import Context

_lock = threading.RLock()


def install(ctx: Context) -> None:
    """Make ``ctx`` the process-wide SDK context (routes and controllers share one store)."""
    from mainsail.client import _context as sdk

    with sdk._lock:
        sdk._context = ctx


@contextlib.contextmanager
def bound(ctx: Context) -> Iterator[Context]:
    """Make ``get_context()`` return ``ctx`` inside the block."""
    from mainsail.client import _context as sdk

    if sdk._context is ctx:
        yield ctx
        return
    with _lock:
        saved = sdk._context
        sdk._context = ctx
        try:
            yield ctx
        finally:
            sdk._context = saved


def sdk(request: Request) -> contextlib.AbstractContextManager[Context]:
    """``with sdk(request): ...`` runs SDK calls on the server's context."""
    return bound(request.app.state.mainsail.ctx)
