"""Run the registered controllers in the leader process, each on its own interval."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mainsail.controllers._protocol import Controller
from mainsail.controllers._registry import CONTROLLERS, check_controller
from mainsail.core._errors import ConfigurationError
from mainsail.core._ids import now_ms

if TYPE_CHECKING:
    from mainsail.store._context import Context
    from mainsail.store.protocols import LeaderLockHandle

log = logging.getLogger("mainsail.controllers")


def available_controllers(names: Sequence[str] | None = None) -> list[str]:
    """The registered controllers (of ``names``, default all) whose factory loads; the
    others are logged and left out, so a server without an optional extra still starts."""
    ok = []
    for name in names if names is not None else CONTROLLERS.names():
        if name not in CONTROLLERS:
            log.warning("controller %r is not registered; skipped", name)
            continue
        try:
            CONTROLLERS.get(name)
        except ConfigurationError as exc:
            log.info("controller %r not available (%s); skipped", name, exc)
            continue
        ok.append(name)
    return ok


class ControllerManager:
    """Elect a leader and, while leading, tick every controller when it is due.

    Parameters
    ----------
    ctx : Context
        The store to work on (the leader runs next to the database).
    names : sequence of str, optional
        Which controllers to run; default: every registered one.
    poll_s : float
        How often the loop wakes up to check leadership and due controllers.

    Examples
    --------
    >>> manager = ControllerManager(ctx, names=["rollouts"])  # doctest: +SKIP
    >>> manager.run_once()  # one tick of each, if this process is the leader  # doctest: +SKIP
    """

    def __init__(
        self,
        ctx: Context,
        names: Sequence[str] | None = None,
        poll_s: float = 0.5,
        controllers: Sequence[Controller] | None = None,
    ) -> None:
        self.context = ctx
        self.names = list(names) if names is not None else None
        self.poll_s = poll_s
        self._given = list(controllers) if controllers is not None else None
        self._controllers: list[Controller] | None = None
        self._due: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock: LeaderLockHandle | None = None
        self.errors: dict[str, str] = {}

    # -- setup ------------------------------------------------------------------------------
    def controllers(self) -> list[Controller]:
        if self._controllers is None:
            if self._given is not None:
                self._controllers = list(self._given)
            else:
                ctx = self.context
                names = self.names or CONTROLLERS.names()
                self._controllers = [check_controller(CONTROLLERS.get(n)(ctx)) for n in names]
        return self._controllers

    @property
    def lock(self) -> LeaderLockHandle:
        if self._lock is None:
            self._lock = self.context.database("Running controllers").leader_lock("controllers")
        return self._lock

    @property
    def is_leader(self) -> bool:
        return self.lock.held

    # -- running ----------------------------------------------------------------------------
    def run_once(self, now: int | None = None, force: bool = True) -> bool:
        """Tick the controllers once if this process leads; ``False`` if it does not."""
        if not self.lock.try_acquire():
            return False
        self._tick_due(now, force=force)
        return True

    def _tick_due(self, now: int | None, force: bool) -> None:
        mono = time.monotonic()
        for c in self.controllers():
            if not force and self._due.get(c.name, 0.0) > mono:
                continue
            self._due[c.name] = mono + max(float(c.interval_s), 0.05)
            try:
                c.tick(now if now is not None else now_ms())
                self.errors.pop(c.name, None)
            except Exception as exc:  # noqa: BLE001 - one controller must not stop the rest
                self.errors[c.name] = f"{type(exc).__name__}: {exc}"
                log.exception("controller %s failed; it runs again next interval", c.name)

    def start(self) -> ControllerManager:
        """Run in a daemon thread until :meth:`stop`."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name="mainsail-controllers", daemon=True
            )
            self._thread.start()
        return self

    def run_forever(self) -> None:
        """Run in the calling thread until :meth:`stop` (or KeyboardInterrupt)."""
        self._loop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.lock.try_acquire():
                    self._tick_due(None, force=False)
            except Exception:  # noqa: BLE001 - the store may be briefly unreachable
                log.exception("controller loop error; retrying")
            self._stop.wait(self.poll_s)
        self.lock.release()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        elif self._lock is not None:
            self._lock.release()

    def __enter__(self) -> ControllerManager:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
