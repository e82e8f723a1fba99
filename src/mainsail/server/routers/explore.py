"""Reads for browsing at scale: a page of the run table, the run keys, a downsampled series.

The web UI's runs page asks for one page of runs with the columns the user chose and the
total (``GET /run-table``); its charts ask for one metric series downsampled on the server
to a bounded number of points (``GET /runs/{run_id}/metric-series``), re-asked for a step
range when the user zooms.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from mainsail.security._roles import Principal
from mainsail.server._auth import denied, reader, run_project
from mainsail.server.routers._common import context
from mainsail.tracking._downsample import METHODS, downsample
from mainsail.tracking._filter import parse_filter, parse_order_by

router = APIRouter(tags=["explore"])

MAX_PAGE = 1000
MAX_POINTS = 10_000
SERIES_CACHE = 256  # downsampled series of ended runs kept per server


class RunRowOut(BaseModel):
    id: str
    experiment: str
    name: str
    status: str
    start_time: int
    end_time: int | None = None
    user: str | None = None
    git_commit: str | None = None
    params: dict[str, str]
    metrics: dict[str, float]


class RunKeys(BaseModel):
    params: list[str]
    metrics: list[str]


class RunTable(BaseModel):
    total: int
    offset: int
    rows: list[RunRowOut]
    keys: RunKeys | None = None
    columns: RunKeys


class MetricSeries(BaseModel):
    run_id: str
    key: str
    total: int
    in_range: int
    downsampled: bool
    method: str
    step: list[int]
    ts: list[int]
    value: list[float]


def _visible_experiments(
    request: Request, principal: Principal, wanted: list[str] | None
) -> list[str] | None:
    """The experiments this caller may read (``None``: all of them, for a global viewer)."""
    for name in wanted or ():
        if not principal.may("viewer", name):
            raise denied(principal, "viewer", name)
    if wanted:
        return wanted
    if principal.may("viewer", "*"):
        return None
    store = context(request).database("The run table")
    return [e.name for e in store.list_experiments() if principal.role_in(e.name)]


@router.get("/run-table", response_model=RunTable)
def run_table(
    request: Request,
    experiment: Annotated[list[str] | None, Query()] = None,
    filter: Annotated[str | None, Query(max_length=10000)] = None,
    order_by: Annotated[list[str] | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    param: Annotated[list[str] | None, Query(description="A param column to return")] = None,
    metric: Annotated[list[str] | None, Query(description="A metric column to return")] = None,
    keys: Annotated[bool, Query(description="Also list the param and metric keys")] = False,
    auto_columns: Annotated[
        int, Query(ge=0, le=100, description="With no param/metric given: this many, chosen")
    ] = 0,
    principal: Principal = reader(),
) -> Any:
    """One page of the runs matching ``filter`` (the SDK's filter language), and the total.

    ``keys=true`` also lists the param and metric keys (of the newest runs) for a column
    chooser; ``auto_columns=N`` with no ``param``/``metric`` picks the first N/2 metrics and
    params as columns, so a first visit needs one request. ``columns`` says which were used.
    """
    expr = parse_filter(filter)
    orders = parse_order_by(list(order_by or []))
    visible = _visible_experiments(request, principal, experiment)
    store = context(request).database("The run table")
    found = store.run_keys(visible) if keys or (auto_columns and not param and not metric) else None
    params, metrics = list(param or []), list(metric or [])
    if auto_columns and not params and not metrics and found is not None:
        metrics = found["metrics"][: (auto_columns + 1) // 2]
        params = found["params"][: auto_columns // 2]
    page = store.run_page(visible, expr, orders, offset, limit, params, metrics)
    return RunTable(
        total=page.total,
        offset=offset,
        rows=[RunRowOut(**vars(r)) for r in page.rows],
        keys=RunKeys(**found) if keys and found is not None else None,
        columns=RunKeys(params=params, metrics=metrics),
    )


@router.get("/runs/{run_id}/metric-series", response_model=MetricSeries)
def metric_series_route(
    request: Request,
    run_id: str,
    key: Annotated[str, Query(min_length=1, max_length=250)],
    points: Annotated[int, Query(ge=3, le=MAX_POINTS)] = 2000,
    min_step: Annotated[int | None, Query(ge=-(2**63), le=2**63 - 1)] = None,
    max_step: Annotated[int | None, Query(ge=-(2**63), le=2**63 - 1)] = None,
    method: Annotated[str, Query(description=f"One of: {', '.join(METHODS)}")] = "lttb",
    _: Any = reader(run_project),
) -> Any:
    """One metric of one run, by step, downsampled to at most ``points`` points.

    ``min_step``/``max_step`` narrow the range (a zoomed chart asks again for its window, so
    it gets up to ``points`` points of that window).
    """
    store = context(request).database("A metric series")
    status, end_time = store.run_state(run_id)
    # An ended run takes no more points: its downsampled series can be kept (and a re-ended
    # run has another end time, so another key). A running run is read afresh every time.
    cacheable = status != "running"
    ckey = (run_id, key, points, min_step, max_step, method, status, end_time)
    cache, lock = _series_cache(request)
    if cacheable:
        with lock:
            hit = cache.get(ckey)
            if hit is not None:
                cache.move_to_end(ckey)
                return hit
    series, total = store.metric_series(run_id, key, min_step, max_step)
    kept = downsample(series.step, series.value, points, method)
    out = MetricSeries(
        run_id=run_id,
        key=key,
        total=total,
        in_range=len(series.value),
        downsampled=len(kept) < len(series.value),
        method=method,
        step=series.step[kept].tolist(),
        ts=series.ts[kept].tolist(),
        value=series.value[kept].tolist(),
    )
    if cacheable:
        with lock:
            cache[ckey] = out
            while len(cache) > SERIES_CACHE:
                cache.popitem(last=False)
    return out


def _series_cache(request: Request) -> tuple[OrderedDict[Any, MetricSeries], threading.Lock]:
    extra = request.app.state.mainsail.extra
    if "explore.series" not in extra:
        extra.setdefault("explore.series", (OrderedDict(), threading.Lock()))
    return extra["explore.series"]  # type: ignore[no-any-return]
