"""Run the registered controllers in the leader process, each on its own interval."""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mainsail.controllers._leader import LeaderLock
from mainsail.controllers._protocol import Controller
from mainsail.core._errors import InvalidValueError
from mainsail.core._ids import now_ms

if TYPE_CHECKING:
    from mainsail.store._context import Context

log = logging.getLogger("mainsail.controllers")

ControllerFactory = Callable[["Context"], Controller]

# name -> "module:attribute" of a factory taking the Context (imported lazily).
CONTROLLERS: dict[str, str | ControllerFactory] = {
    "rollouts": "mainsail.rollout:RolloutController",
    "monitors": "mainsail.monitoring:MonitorController",
    "automations": "mainsail.automation:AutomationController",
}


def register_controller(name: str, factory: str | ControllerFactory) -> None:
    """Add a controller: a factory ``(context) -> Controller`` or its ``"module:attr"``."""
    CONTROLLERS[name] = factory


def _load(name: str) -> ControllerFactory:
    target = CONTROLLERS.get(name)
    if target is None:
        raise InvalidValueError(
            f"Unknown controller {name!r}. Valid controllers are: {', '.join(sorted(CONTROLLERS))}."
        )
    if callable(target):
        return target
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


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
        self._lock: LeaderLock | None = None
        self.errors: dict[str, str] = {}

    # -- setup ------------------------------------------------------------------------------
    def controllers(self) -> list[Controller]:
        if self._controllers is None:
            if self._given is not None:
                self._controllers = list(self._given)
            else:
                ctx = self.context
                self._controllers = [_load(n)(ctx) for n in (self.names or list(CONTROLLERS))]
        return self._controllers

    @property
    def lock(self) -> LeaderLock:
        if self._lock is None:
            self._lock = LeaderLock(self.context.database("Running controllers").db)
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
