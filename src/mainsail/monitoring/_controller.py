"""The monitor controller: runs every enabled monitor whose ``next_run_at`` is due."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from mainsail.core._errors import NotFoundError
from mainsail.monitoring._run import execute
from mainsail.monitoring._spec import Monitor

if TYPE_CHECKING:
    from mainsail.store._context import Context

log = logging.getLogger("mainsail.monitoring")


class MonitorController:
    """Leader-only loop body (see :mod:`mainsail.controllers`); state lives in ``monitors``.

    Examples
    --------
    >>> from mainsail.client import get_context
    >>> MonitorController(get_context()).tick(0)  # doctest: +SKIP
    """

    name = "monitors"

    def __init__(self, ctx: Context, interval_s: float = 5.0) -> None:
        self.ctx = ctx
        self.interval_s = interval_s
        self.errors: dict[str, str] = {}

    def due(self, now_ms: int) -> list[tuple[int, str, str, int]]:
        """``(id, endpoint, name, interval_s)`` of the monitors due at ``now_ms``."""
        rows = self.ctx.database("The monitor controller").due_monitor_rows(now_ms)
        return [(r["id"], r["endpoint"], r["name"], r["interval_s"]) for r in rows]

    def tick(self, now_ms: int) -> None:
        store = self.ctx.database("The monitor controller")
        for monitor_id, endpoint, name, interval_s in self.due(now_ms):
            key = f"{endpoint}/{name}"
            try:
                # Read again: an earlier monitor's run may have taken a while, and this one
                # may have been changed or deleted meanwhile.
                monitor = Monitor.model_validate(store.get_monitor_row(endpoint, name))
            except NotFoundError:
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. a spec this version cannot read
                log.exception("monitor %s cannot be read", key)
                self.errors[key] = repr(exc)
                store.schedule_monitor(monitor_id, now_ms + interval_s * 1000)
                continue
            if not monitor.enabled:
                continue
            try:
                result = execute(self.ctx, monitor, None, now_ms)
                self.errors.pop(key, None)
                log.info("monitor %s: %s", key, result.status)
            except Exception as exc:  # noqa: BLE001 - one broken monitor must not stop the rest
                log.exception("monitor %s failed", key)
                self.errors[key] = repr(exc)
                store.schedule_monitor(monitor.id, now_ms + monitor.interval_s * 1000)
