"""Search runs with a filter string; results as a pandas DataFrame."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mainsail.core._errors import InvalidValueError
from mainsail.core._schemas import Run
from mainsail.tracking._filter import Comparison, Expr, parse_filter, parse_order_by

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
    expr = parse_filter(filter)
    found = ctx.store.search_runs(
        exps or None, expr, parse_order_by(list(order_by or [])), max_results
    )
    if not found and expr is not None and max_results != 0:
        _check_keys(ctx, exps or None, expr)
    return found


KEYED = {"metrics": "metric", "params": "param", "tags": "tag"}
SAMPLE_RUNS = 500  # the keys of a sweep repeat from run to run


def _comparisons(expr: Expr) -> list[Comparison]:
    if isinstance(expr, Comparison):
        return [expr]
    return [c for item in expr.items for c in _comparisons(item)]


def _check_keys(ctx: Context, experiments: list[str] | None, expr: Expr) -> None:
    """An empty result whose filter names a metric, param or tag that no run in scope has:
    say which, and suggest the close one (``metrics.acu`` -> ``auc``), instead of zero rows.

    Runs only when nothing matched, so a search that finds runs costs nothing more.
    """
    import difflib

    wanted = {(c.entity, c.key) for c in _comparisons(expr) if c.entity in KEYED}
    if not wanted:
        return
    sample = ctx.store.search_runs(experiments, None, (), SAMPLE_RUNS)
    if not sample:
        return  # no run at all: nothing is unknown yet
    known: dict[str, set[str]] = {
        "metrics": {k for r in sample for k in r.metrics},
        "params": {k for r in sample for k in r.params},
        "tags": {k for r in sample for k in r.tags},
    }
    problems = []
    for entity, key in sorted(wanted):
        if key in known[entity]:
            continue
        if ctx.store.search_runs(experiments, Comparison(entity, key, "IS NOT NULL"), (), 1):
            continue  # an older run has it
        what = KEYED[entity]
        close = difflib.get_close_matches(key, sorted(known[entity]), n=1)
        hint = f" Did you mean '{entity}.{close[0]}'?" if close else ""
        valid = ", ".join(sorted(known[entity])[:20]) or "none"
        problems.append(
            f"No run {_scope(experiments)}has a {what} '{key}'.{hint} Known {what}s: {valid}."
        )
    if problems:
        raise InvalidValueError(" ".join(problems) + " Fix the key in the filter.")


def _scope(experiments: list[str] | None) -> str:
    if not experiments:
        return ""
    names = ", ".join(f"'{e}'" for e in experiments)
    return f"in experiment{'s' if len(experiments) > 1 else ''} {names} "


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
