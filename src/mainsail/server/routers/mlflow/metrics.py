"""MLflow metric histories: get-history and get-history-bulk-interval."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from mainsail.core._schemas import MetricPoint
from mainsail.security._roles import Principal
from mainsail.server._auth import denied, reader
from mainsail.server.routers._common import store
from mainsail.server.routers.mlflow._shared import fields, required, run_project
from mainsail.server.routers.mlflow.errors import MlflowError, MlflowRoute

router = APIRouter(route_class=MlflowRoute, tags=["mlflow"])

_MAX_BULK_RUNS = 100
_MAX_POINTS = 25000


def _point(p: MetricPoint) -> dict[str, Any]:
    return {"key": p.key, "value": p.value, "timestamp": p.ts, "step": p.step}


@router.get("/metrics/get-history")
async def get_history(request: Request, _: Principal = reader(run_project)) -> Any:
    values = await fields(request)
    run_id = str(required(values, "run_id", "run_uuid"))
    key = str(required(values, "metric_key"))
    points = await run_in_threadpool(store(request).metric_history, run_id, key)
    offset = int(values.get("page_token") or 0)
    limit = int(values.get("max_results") or len(points) or 1)
    out: dict[str, Any] = {"metrics": [_point(p) for p in points[offset : offset + limit]]}
    if offset + limit < len(points):
        out["next_page_token"] = str(offset + limit)
    return out


def _sample_steps(steps: list[int], n: int) -> set[int]:
    """At most ``n`` steps spread evenly over ``steps``, always keeping the first and last."""
    if len(steps) <= n:
        return set(steps)
    if n == 1:
        return {steps[-1]}
    return {steps[round(i * (len(steps) - 1) / (n - 1))] for i in range(n)}


@router.get("/metrics/get-history-bulk-interval")
async def get_history_bulk_interval(request: Request, principal: Principal = reader()) -> Any:
    values = await fields(request)
    run_ids = values.get("run_ids") or []
    run_ids = [run_ids] if isinstance(run_ids, str) else list(run_ids)
    if not run_ids or len(run_ids) > _MAX_BULK_RUNS:
        raise MlflowError(
            f"Expected 1 to {_MAX_BULK_RUNS} run_ids; got {len(run_ids)}. Ask in several calls."
        )
    key = str(required(values, "metric_key"))
    max_results = int(values.get("max_results") or 2500)
    if not 0 < max_results <= _MAX_POINTS:
        raise MlflowError(f"max_results must be between 1 and {_MAX_POINTS}; got {max_results}.")
    start = values.get("start_step")
    end = values.get("end_step")
    if (start is None) != (end is None):
        raise MlflowError("Give both start_step and end_step, or neither.")
    s = store(request)

    def read() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for run_id in run_ids:
            project = s.run_experiment(run_id)
            if not principal.may("viewer", project):
                raise denied(principal, "viewer", project)
            points = s.metric_history(run_id, key)
            if start is not None and end is not None:
                points = [p for p in points if int(start) <= p.step <= int(end)]
            keep = _sample_steps(sorted({p.step for p in points}), max_results)
            out += [{**_point(p), "run_id": run_id} for p in points if p.step in keep]
        return out

    return {"metrics": await run_in_threadpool(read)}
