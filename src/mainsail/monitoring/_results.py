"""Stored monitor results, read back as objects or as a time series of scores."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from mainsail.monitoring._monitor import MonitorResult, _path, get_monitor
from mainsail.store import _tables as T

if TYPE_CHECKING:
    from mainsail.store._context import Context


def list_results(
    ctx: Context,
    endpoint: str,
    name: str = "default",
    limit: int = 100,
    since_ms: int | None = None,
) -> list[MonitorResult]:
    """Stored results, oldest first (the latest ``limit``)."""
    if (api := ctx.remote) is not None:
        params = {"limit": limit, **({"since_ms": since_ms} if since_ms is not None else {})}
        docs = api.json("GET", _path(endpoint, name, "results"), params=params)
        return [MonitorResult.model_validate(d) for d in docs]
    m = get_monitor(ctx, endpoint, name)
    q = (
        sa.select(T.monitor_results.c.id, T.monitor_results.c.result)
        .where(T.monitor_results.c.monitor_id == m.id)
        .order_by(T.monitor_results.c.ts.desc(), T.monitor_results.c.id.desc())
        .limit(limit)
    )
    if since_ms is not None:
        q = q.where(T.monitor_results.c.ts >= since_ms)
    with ctx.database().db.read() as conn:
        rows = list(conn.execute(q))
    out = []
    for rid, doc in reversed(rows):
        out.append(MonitorResult.model_validate({**doc, "id": rid}))
    return out


def results_frame(
    ctx: Context, endpoint: str, name: str = "default", limit: int = 100
) -> pd.DataFrame:
    """The scores of stored results as a time series (one row per run)."""
    if ctx.remote is not None:
        return pd.DataFrame(
            [
                {"ts": r.ts, "status": r.status, "model_version": r.model_version, **r.scores}
                for r in list_results(ctx, endpoint, name, limit=limit)
            ]
        )
    m = get_monitor(ctx, endpoint, name)
    q = (
        sa.select(
            T.monitor_results.c.ts,
            T.monitor_results.c.status,
            T.monitor_results.c.model_version,
            T.monitor_results.c.scores,
        )
        .where(T.monitor_results.c.monitor_id == m.id)
        .order_by(T.monitor_results.c.ts.desc())
        .limit(limit)
    )
    with ctx.database().db.read() as conn:
        rows = list(conn.execute(q))[::-1]
    return pd.DataFrame(
        [{"ts": ts, "status": st, "model_version": mv, **(sc or {})} for ts, st, mv, sc in rows]
    )
