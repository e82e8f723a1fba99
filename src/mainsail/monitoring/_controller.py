"""The monitor controller: runs every enabled monitor whose ``next_run_at`` is due."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import sqlalchemy as sa

from mainsail.monitoring._monitor import _monitor, execute
from mainsail.store import _tables as T

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

    def due(self, now_ms: int) -> list[int]:
        m = T.monitors.c
        q = sa.select(m.id).where(
            m.enabled.is_(True), sa.or_(m.next_run_at.is_(None), m.next_run_at <= now_ms)
        )
        with self.ctx.database().db.read() as conn:
            return [int(r[0]) for r in conn.execute(q.order_by(m.next_run_at, m.id))]

    def tick(self, now_ms: int) -> None:
        for mid in self.due(now_ms):
            with self.ctx.database().db.read() as conn:
                row = conn.execute(sa.select(T.monitors).where(T.monitors.c.id == mid)).first()
            if row is None:
                continue
            monitor = _monitor(row)
            key = f"{monitor.endpoint}/{monitor.name}"
            try:
                result = execute(self.ctx, monitor, None, now_ms)
                self.errors.pop(key, None)
                log.info("monitor %s: %s", key, result.status)
            except Exception as exc:  # noqa: BLE001 - one broken monitor must not stop the rest
                log.exception("monitor %s failed", key)
                self.errors[key] = repr(exc)
                with self.ctx.database().db.write() as conn:
                    conn.execute(
                        sa.update(T.monitors)
                        .where(T.monitors.c.id == mid)
                        .values(next_run_at=now_ms + monitor.interval_s * 1000)
                    )
