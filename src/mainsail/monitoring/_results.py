"""Stored monitor results, read back as objects or as a time series of scores."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mainsail.monitoring._spec import MonitorResult

if TYPE_CHECKING:
    from mainsail.store._context import Context


def list_results(
    ctx: Context,
    endpoint: str,
    name: str = "default",
    limit: int = 100,
    since_ms: int | None = None,
) -> list[MonitorResult]:
    """Stored results, oldest first (the latest ``limit``).

    Examples
    --------
    >>> [r.status for r in list_results(ctx, "churn", limit=2)]  # doctest: +SKIP
    ['ok', 'warning']
    """
    docs = ctx.store.list_monitor_results(endpoint, name, limit=limit, since_ms=since_ms)
    return [MonitorResult.model_validate(d) for d in docs]


def results_frame(
    ctx: Context, endpoint: str, name: str = "default", limit: int = 100
) -> pd.DataFrame:
    """The scores of stored results as a time series (one row per run, oldest first)."""
    rows = ctx.store.monitor_score_series(endpoint, name, limit=limit)
    return pd.DataFrame(
        [
            {
                "ts": r["ts"],
                "status": r["status"],
                "model_version": r["model_version"],
                **r["scores"],
            }
            for r in rows
        ]
    )
