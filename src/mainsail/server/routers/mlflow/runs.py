"""MLflow runs: create, get, update, delete, restore, search, and logging to a run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from mainsail.core._schemas import Run
from mainsail.security._roles import Principal
from mainsail.server._auth import Audit, denied, permit, reader
from mainsail.server.routers._common import store
from mainsail.server.routers.mlflow._shared import (
    LIFECYCLE_TAG,
    experiment_id,
    experiment_name,
    experiment_project,
    experiments_by_id,
    fields,
    new_run_id,
    required,
    run_info,
    run_json,
    run_project,
)
from mainsail.server.routers.mlflow.errors import MlflowError, MlflowRoute
from mainsail.tracking._filter import And, Comparison, Expr, Or

router = APIRouter(route_class=MlflowRoute, tags=["mlflow"])

_ENDED = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}
_MAX_RESULTS = 50000
_STAGE_FILTER: dict[str, Expr] = {
    "ACTIVE_ONLY": Or(
        (
            Comparison("tags", LIFECYCLE_TAG, "IS NULL"),
            Comparison("tags", LIFECYCLE_TAG, "=", "active"),
        )
    ),
    "DELETED_ONLY": Comparison("tags", LIFECYCLE_TAG, "=", "deleted"),
}


def _exp_id_of(s: Any, run: Run) -> str:
    for eid, exp in experiments_by_id(s).items():
        if exp.name == run.experiment:
            return eid
    return "0"


def _tags(items: Any) -> dict[str, str]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise MlflowError(f"Expected 'tags' to be a list of {{key, value}}; got {items!r}.")
    return {str(required(t, "key")): str(t.get("value", "")) for t in items}


def _metric(run_id: str, m: Any) -> tuple[str, float, int, int]:
    from mainsail.store._sql_store import check_metric

    if not isinstance(m, dict):
        raise MlflowError(f"Expected a metric {{key, value, timestamp, step}}; got {m!r}.")
    key = required(m, "key")
    try:
        step = int(m.get("step") or 0)
        ts = int(m.get("timestamp") or 0)
    except (TypeError, ValueError):
        raise MlflowError(
            f"Metric {key!r}: step and timestamp must be integers; got {m!r}."
        ) from None
    return (key, check_metric(key, m.get("value")), step, ts)


@router.post("/runs/create")
async def create_run(
    request: Request,
    audit: Audit = permit("runs.create", "developer", experiment_project),
) -> Any:
    values = await fields(request)
    s = store(request)
    exp_id = str(values.get("experiment_id") or "0")
    name = experiment_name(s, exp_id)
    tags = _tags(values.get("tags"))
    run_id = new_run_id()
    run_name = values.get("run_name") or tags.get("mlflow.runName") or f"run-{run_id[:8]}"
    tags.pop("mlflow.runName", None)
    user = values.get("user_id") or tags.get("mlflow.user")
    extra: dict[str, Any] = {
        # the client's process is not the server's: the reaper (same host + dead pid) skips it
        "host": f"mlflow-client:{request.client.host if request.client else 'unknown'}",
        # MLflow's client sends no heartbeats: its runs end when it ends them, as in MLflow
        "heartbeats": False,
    }
    if values.get("start_time"):
        extra["start_time"] = int(values["start_time"])
    if user:
        extra["user"] = str(user)[:256]
    if tags.get("mlflow.source.name"):
        extra["source"] = tags["mlflow.source.name"][:1024]
    if tags.get("mlflow.source.git.commit"):
        extra["git_commit"] = tags["mlflow.source.git.commit"][:64]
    audit.target = f"runs/{run_id}"
    await run_in_threadpool(s.create_run, run_id, name, str(run_name), {}, tags, None, **extra)
    audit.after = {"experiment": name, "name": run_name, "via": "mlflow"}
    run = await run_in_threadpool(s.get_run, run_id)
    return {"run": run_json(run, exp_id)}


@router.get("/runs/get")
async def get_run(request: Request, _: Principal = reader(run_project)) -> Any:
    values = await fields(request)
    s = store(request)
    run = await run_in_threadpool(s.get_run, str(required(values, "run_id", "run_uuid")))
    return {"run": run_json(run, _exp_id_of(s, run))}


@router.post("/runs/update")
async def update_run(
    request: Request, audit: Audit = permit("runs.update", "developer", run_project)
) -> Any:
    values = await fields(request)
    s = store(request)
    run_id = str(required(values, "run_id", "run_uuid"))
    audit.target = f"runs/{run_id}"
    run = await run_in_threadpool(s.get_run, run_id)
    status = values.get("status")
    if status is not None and status not in (*_ENDED, "RUNNING", "SCHEDULED"):
        raise MlflowError(
            f"Run status must be one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED; got {status!r}."
        )
    new_name = values.get("run_name")
    if new_name and new_name != run.name:
        await run_in_threadpool(s.set_tags, run_id, {"mlflow.runName": str(new_name)})
    if status in _ENDED and run.status == "running":
        end = int(values["end_time"]) if values.get("end_time") else None
        await run_in_threadpool(s.end_run, run_id, _ENDED[status], (), end)
    audit.after = {"status": status, "run_name": new_name}
    run = await run_in_threadpool(s.get_run, run_id)
    return {"run_info": run_info(run, _exp_id_of(s, run))}


async def _lifecycle(request: Request, audit: Audit, stage: str) -> Any:
    values = await fields(request)
    run_id = str(required(values, "run_id"))
    audit.target = f"runs/{run_id}"
    audit.after = {LIFECYCLE_TAG: stage}
    await run_in_threadpool(store(request).set_tags, run_id, {LIFECYCLE_TAG: stage})
    return {}


@router.post("/runs/delete")
async def delete_run(
    request: Request, audit: Audit = permit("runs.delete", "developer", run_project)
) -> Any:
    return await _lifecycle(request, audit, "deleted")


@router.post("/runs/restore")
async def restore_run(
    request: Request, audit: Audit = permit("runs.restore", "developer", run_project)
) -> Any:
    return await _lifecycle(request, audit, "active")


@router.api_route("/runs/search", methods=["GET", "POST"])
async def search_runs(request: Request, principal: Principal = reader()) -> Any:
    from mainsail.tracking._mlflow_filter import translate_filter, translate_order_by

    values = await fields(request)
    s = store(request)
    ids = values.get("experiment_ids") or []
    ids = [ids] if isinstance(ids, str) else list(ids)
    names = [experiment_name(s, i) for i in ids]
    for name in names:
        if not principal.may("viewer", name):
            raise denied(principal, "viewer", name)
    order = values.get("order_by") or []
    order = [order] if isinstance(order, str) else list(order)
    max_results = int(values.get("max_results") or 1000)
    if not 0 < max_results <= _MAX_RESULTS:
        raise MlflowError(f"max_results must be between 1 and {_MAX_RESULTS}; got {max_results}.")
    offset = int(values.get("page_token") or 0)
    view = str(values.get("run_view_type") or "ACTIVE_ONLY")
    expr = translate_filter(values.get("filter"))
    stage = _STAGE_FILTER.get(view)
    if stage is not None:
        expr = stage if expr is None else And((expr, stage))
    runs = await run_in_threadpool(
        s.search_runs, names or None, expr, translate_order_by(order), offset + max_results + 1
    )
    runs = [r for r in runs if principal.role_in(r.experiment)]
    by_name = {e.name: experiment_id(e) for e in s.list_experiments()}
    page = runs[offset : offset + max_results]
    out: dict[str, Any] = {"runs": [run_json(r, by_name.get(r.experiment, "0")) for r in page]}
    if offset + max_results < len(runs):
        out["next_page_token"] = str(offset + max_results)
    return out


@router.post("/runs/log-metric")
async def log_metric(
    request: Request, audit: Audit = permit("runs.log_metrics", "developer", run_project)
) -> Any:
    values = await fields(request)
    run_id = str(required(values, "run_id", "run_uuid"))
    audit.target = f"runs/{run_id}"
    point = _metric(run_id, values)
    audit.after = {"points": 1}
    await run_in_threadpool(store(request).log_metrics, run_id, [point])
    return {}


@router.post("/runs/log-parameter")
async def log_param(
    request: Request, audit: Audit = permit("runs.log_params", "developer", run_project)
) -> Any:
    values = await fields(request)
    run_id = str(required(values, "run_id", "run_uuid"))
    key = str(required(values, "key"))
    audit.target = f"runs/{run_id}"
    audit.after = {"keys": [key]}
    await run_in_threadpool(store(request).log_params, run_id, {key: str(values.get("value", ""))})
    return {}


@router.post("/runs/set-tag")
async def set_tag(
    request: Request, audit: Audit = permit("runs.set_tags", "developer", run_project)
) -> Any:
    values = await fields(request)
    run_id = str(required(values, "run_id", "run_uuid"))
    key = str(required(values, "key"))
    audit.target = f"runs/{run_id}"
    audit.after = {key: values.get("value")}
    await run_in_threadpool(store(request).set_tags, run_id, {key: str(values.get("value", ""))})
    return {}


@router.post("/runs/delete-tag")
async def delete_tag(
    request: Request, audit: Audit = permit("runs.delete_tag", "developer", run_project)
) -> Any:
    values = await fields(request)
    run_id = str(required(values, "run_id"))
    key = str(required(values, "key"))
    audit.target = f"runs/{run_id}"
    audit.before = {"key": key}
    s = store(request)
    await run_in_threadpool(s.delete_tag, run_id, key)
    return {}


@router.post("/runs/log-batch")
async def log_batch(
    request: Request, audit: Audit = permit("runs.log_batch", "developer", run_project)
) -> Any:
    values = await fields(request)
    run_id = str(required(values, "run_id"))
    metrics = values.get("metrics") or []
    params = values.get("params") or []
    tags = values.get("tags") or []
    if len(metrics) > 1000 or len(params) > 100 or len(metrics) + len(params) + len(tags) > 1000:
        raise MlflowError(
            "A batch holds at most 1000 metrics, 100 params and 1000 items in all (MLflow's "
            f"limits); got {len(metrics)} metrics, {len(params)} params, {len(tags)} tags. "
            "Split it into several calls."
        )
    points = [_metric(run_id, m) for m in metrics]
    param_map = {str(required(p, "key")): str(p.get("value", "")) for p in params}
    tag_map = _tags(tags)
    audit.target = f"runs/{run_id}"
    audit.after = {"points": len(points), "params": sorted(param_map), "tags": sorted(tag_map)}
    s = store(request)

    def write() -> None:
        if param_map:
            s.log_params(run_id, param_map)
        if tag_map:
            s.set_tags(run_id, tag_map)
        if points:
            s.log_metrics(run_id, points)

    await run_in_threadpool(write)
    return {}


@router.post("/runs/log-inputs")
async def log_inputs(
    request: Request, audit: Audit = permit("runs.add_input", "developer", run_project)
) -> Any:
    values = await fields(request)
    run_id = str(required(values, "run_id"))
    datasets = values.get("datasets") or []
    audit.target = f"runs/{run_id}"
    tags: dict[str, str] = {}
    for i, d in enumerate(datasets):
        ds = d.get("dataset") or {}
        prefix = f"mlflow.dataset.{i}."
        for k in ("name", "digest", "source_type", "source"):
            if ds.get(k) is not None:
                tags[prefix + k] = str(ds[k])[:5000]
        for t in d.get("tags") or []:
            if t.get("key") == "mlflow.data.context":
                tags[prefix + "context"] = str(t.get("value"))
    audit.after = {"datasets": len(datasets)}
    if tags:
        await run_in_threadpool(store(request).set_tags, run_id, tags)
    return {}
