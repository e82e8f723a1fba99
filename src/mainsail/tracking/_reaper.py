"""The run reaper: the leader marks runs failed whose process stopped without ending them.

Reading runs reaps too (``get_run``, ``search_runs``), but nothing may read them for hours
while dashboards, alerts or a pipeline wait on a status; the leader reaps every minute.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mainsail.store._context import Context

log = logging.getLogger("mainsail.tracking")


class RunReaper:
    """Controller ``runs``: reap dead runs every ``interval_s`` seconds (leader only).

    On the leader's host a run whose process is gone is failed at once; on any other host a
    run whose heartbeat stopped five minutes ago (``RUN_STALE_MS`` of the SQL store).

    Examples
    --------
    >>> from mainsail.controllers import ControllerManager
    >>> ControllerManager(ctx, names=["runs"]).start()  # doctest: +SKIP
    """

    name = "runs"

    def __init__(self, ctx: Context, interval_s: float = 60.0) -> None:
        self.ctx = ctx
        self.interval_s = interval_s

    def tick(self, now_ms: int) -> None:
        reaped = self.ctx.database("The run reaper").reap_dead_runs()
        if reaped:
            log.warning(
                "marked %d run(s) failed: their process stopped without ending them", reaped
            )
