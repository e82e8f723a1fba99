"""Where a worker claims its jobs: next to the database, or through a Mainsail server.

The two differ in what a worker may do there, so this is a :class:`~mainsail.store.Service`:

- next to the database (:class:`LocalClaims`) a worker claims any kind (a kind without a
  handler is failed with the known kinds), reaps jobs whose worker went silent, and polls;
- through a server (:class:`RemoteClaims`) it claims only kinds it has a handler for, and
  never a kind that needs the database; the server reaps, and a claim long-polls there.

Both claim, heartbeat, complete and fail through the context's store
(:class:`~mainsail.store.protocols.JobClaimStore`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from mainsail.core._errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidValueError,
    PermissionDeniedError,
)
from mainsail.jobs._handlers import needs_database
from mainsail.jobs._queue import reap_and_log
from mainsail.store._context import Service

if TYPE_CHECKING:
    from mainsail.store._context import Context

log = logging.getLogger("mainsail.jobs")
_REFUSED = (AuthenticationError, PermissionDeniedError, InvalidValueError, ConfigurationError)


class Claims(Protocol):
    """What a worker's loop needs to know about where it claims."""

    via: str | None
    """The server a worker claims through, or None next to the database (for messages)."""

    claim_waits: bool
    """Whether a claim itself waits for a job (a server's long poll): no idle pause then."""

    def kinds(self, known: Sequence[str], requested: Sequence[str] | None) -> list[str] | None:
        """The kinds to claim, given the kinds with a handler and those asked for (None:
        any kind)."""
        ...

    def before_claim(self, lease_s: float) -> None:
        """Housekeeping before a claim (reaping jobs whose worker went silent)."""
        ...

    def gives_up(self, exc: Exception) -> bool:
        """Whether a failed claim ends the worker instead of being retried."""
        ...


class LocalClaims:
    """Claims next to the database: any kind, with the reaper, polling."""

    via: str | None = None
    claim_waits = False

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._last_reap = 0.0
        self._lock = threading.Lock()

    def kinds(self, known: Sequence[str], requested: Sequence[str] | None) -> list[str] | None:
        return list(requested) if requested is not None else None

    def before_claim(self, lease_s: float) -> None:
        with self._lock:  # workers sharing a context share the reaper's pace
            now = time.monotonic()
            if now - self._last_reap < min(lease_s / 2, 5.0):
                return
            self._last_reap = now
        reap_and_log(self.ctx.database("The job reaper"), log)

    def gives_up(self, exc: Exception) -> bool:
        return False  # a database outage: the loop retries, slower


class RemoteClaims:
    """Claims through a server: only kinds with a handler here, none that needs the
    database; the server reaps, and a claim waits there for a job."""

    claim_waits = True

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        url = ctx.settings.tracking_uri or getattr(ctx.remote, "url", None)
        self.via: str = str(url or "the server")

    def kinds(self, known: Sequence[str], requested: Sequence[str] | None) -> list[str] | None:
        if requested is None:
            return sorted(k for k in known if not needs_database(k))
        refused = sorted(k for k in requested if needs_database(k))
        if refused:
            raise ConfigurationError(
                f"Job kinds {', '.join(refused)} write to the metadata database themselves, "
                f"and this worker talks to the server at {self.via}. Leave them out of kinds "
                "(the default) and run a worker for them on a host that reaches the database "
                "(without MAINSAIL_TRACKING_URI)."
            )
        return list(requested)

    def before_claim(self, lease_s: float) -> None:
        return None  # the server reaps before it hands out a job

    def gives_up(self, exc: Exception) -> bool:
        return isinstance(exc, _REFUSED)  # retrying will not change the server's answer


CLAIMS: Service[Claims] = Service(
    "job claims",
    local="mainsail.jobs._claims:LocalClaims",
    remote="mainsail.jobs._claims:RemoteClaims",
)


__all__ = ["CLAIMS", "Claims", "LocalClaims", "RemoteClaims"]
