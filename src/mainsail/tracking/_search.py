"""Search runs with a filter string; results as a pandas DataFrame."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mainsail.core._errors import InvalidValueError
from mainsail.core._schemas import Run
from mainsail.tracking._filter import parse_filter, parse_order_by

if TYPE_CHECKING:
    import pandas as pd

    from mainsail.store._context import Context

BASE_COLUMNS = [
    "run_id",
    "experiment",
    "run_name",
    "status",
    "start_time",
    "end_time",
    "git_commit",
]


def find_runs(
    ctx: Context,
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = 1000,
) -> list[Run]:
    """Like :func:`search_runs` but returns ``Run`` objects."""
    if max_results is not None and (not isinstance(max_results, int) or max_results < 0):
        raise InvalidValueError(f"max_results must be a non-negative integer. Got {max_results!r}.")
    exps = [experiment] if isinstance(experiment, str) else list(experiment or [])
    return ctx.store.search_runs(
        exps or None, parse_filter(filter), parse_order_by(list(order_by or [])), max_results
    )


def search_runs(
    ctx: Context,
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = 1000,
) -> pd.DataFrame:
    """Runs as a DataFrame, filtered like ``"metrics.auc > 0.9 and params.depth = '3'"``.

    Examples
    --------
    >>> import mainsail
    >>> mainsail.search_runs("churn", filter="metrics.auc > 0.9", order_by=["metrics.auc DESC"])  # doctest: +SKIP
    """
    return runs_to_frame(find_runs(ctx, experiment, filter, order_by, max_results))


def runs_to_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: base columns, then ``params.*``, ``metrics.*`` and ``tags.*``."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for r in runs:
        row: dict[str, Any] = {
            "run_id": r.id,
            "experiment": r.experiment,
            "run_name": r.name,
            "status": r.status,
            "start_time": r.start_time,
            "end_time": r.end_time,
            "git_commit": r.git_commit,
        }
        for k, v in r.params.items():
            row[f"params.{k}"] = v
        for k, m in r.metrics.items():
            row[f"metrics.{k}"] = m
        for k, v in r.tags.items():
            row[f"tags.{k}"] = v
        rows.append(row)
    df = pd.DataFrame(rows, columns=None if rows else BASE_COLUMNS)
    if rows:
        extra = sorted(c for c in df.columns if c not in BASE_COLUMNS)
        ordered = [c for c in extra if c.startswith("params.")]
        ordered += [c for c in extra if c.startswith("metrics.")]
        ordered += [c for c in extra if c.startswith("tags.")]
        df = df[BASE_COLUMNS + ordered]
    for col in ("start_time", "end_time"):
        df[col] = pd.to_datetime(df[col], unit="ms", utc=True)
    return df
