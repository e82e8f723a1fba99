"""MLflow 3's logged models, kept with the run that logged them.

``mlflow.<flavor>.log_model`` creates a logged model, uploads its files to the model's
``artifact_uri`` and finalizes it. Mainsail has no separate entity for this: the model is
recorded on its source run as the tag ``mlflow.loggedModel.<model id>`` (a JSON record) and
its files are the run's artifacts under ``models/<model id>/``, so the SDK, CLI and UI show
them with the run. A logged model needs a source run (log it inside ``mlflow.start_run``).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from mainsail.core._schemas import Run
from mainsail.security._roles import Principal
from mainsail.server._auth import Audit, permit, reader
from mainsail.server.routers._common import store
from mainsail.server.routers.mlflow._shared import (
    artifact_root,
    experiment_id,
    experiment_name,
    experiment_project,
    fields,
    required,
    run_project,
)
from mainsail.server.routers.mlflow.errors import MlflowError, MlflowRoute
from mainsail.tracking._filter import Comparison
from mainsail.tracking._mlflow import LOGGED_MODEL_DIR, LOGGED_MODEL_TAG_PREFIX

router = APIRouter(route_class=MlflowRoute, tags=["mlflow"])

TAG_PREFIX = LOGGED_MODEL_TAG_PREFIX
ARTIFACT_DIR = LOGGED_MODEL_DIR
_STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")


def find(s: Any, model_id: str) -> tuple[Run, dict[str, Any]]:
    """The source run and record of logged model ``model_id``."""
    key = TAG_PREFIX + model_id
    runs = s.search_runs(None, Comparison("tags", key, "IS NOT NULL"), (), 1)
    if not runs:
        raise MlflowError(f"No logged model with id {model_id!r}.", "RESOURCE_DOES_NOT_EXIST")
    run = runs[0]
    return run, json.loads(run.tags[key])


def _save(s: Any, run_id: str, model_id: str, record: dict[str, Any]) -> None:
    record["last_updated_timestamp_ms"] = int(time.time() * 1000)
    s.set_tags(run_id, {TAG_PREFIX + model_id: json.dumps(record, sort_keys=True)})


def model_json(run: Run, exp_id: str, model_id: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "info": {
            "model_id": model_id,
            "experiment_id": exp_id,
            "name": record["name"],
            "creation_timestamp_ms": record["creation_timestamp_ms"],
            "last_updated_timestamp_ms": record["last_updated_timestamp_ms"],
            "artifact_uri": f"{artifact_root(exp_id)}/{ARTIFACT_DIR}/{model_id}/artifacts",
            "status": record["status"],
            "model_type": record.get("model_type") or "",
            "source_run_id": run.id,
            "tags": [{"key": k, "value": v} for k, v in sorted(record["tags"].items())],
        },
        "data": {
            "params": [{"key": k, "value": v} for k, v in sorted(record["params"].items())],
            "metrics": [],
        },
    }


def _pairs(items: Any, what: str) -> dict[str, str]:
    if not items:
        return {}
    if not isinstance(items, list):
        raise MlflowError(f"Expected '{what}' to be a list of {{key, value}}; got {items!r}.")
    return {str(required(i, "key")): str(i.get("value", "")) for i in items}


async def _model_project(request: Request, s: Any) -> str | None:
    model_id = request.path_params.get("model_id")
    if not model_id:
        return None
    try:
        run, _ = await run_in_threadpool(find, s, str(model_id))
    except MlflowError:
        return None
    return run.experiment


@router.post("/logged-models")
async def create_logged_model(
    request: Request,
    audit: Audit = permit("runs.log_model", "developer", experiment_project),
) -> Any:
    values = await fields(request)
    s = store(request)
    exp_id = str(values.get("experiment_id") or "0")
    exp = experiment_name(s, exp_id)
    run_id = values.get("source_run_id")
    if not run_id:
        raise MlflowError(
            "Mainsail keeps MLflow logged models with the run that logged them; this one has "
            "no source_run_id. Log the model inside 'with mlflow.start_run():'."
        )
    run = await run_in_threadpool(s.get_run, str(run_id))
    if run.experiment != exp:
        raise MlflowError(
            f"Run {run_id} belongs to experiment {run.experiment!r}, not to experiment id "
            f"{exp_id!r}. Log the model in the run's experiment."
        )
    model_id = f"m-{uuid.uuid4().hex}"
    now = int(time.time() * 1000)
    record = {
        "name": str(values.get("name") or "model"),
        "model_type": values.get("model_type"),
        "status": "LOGGED_MODEL_PENDING",
        "creation_timestamp_ms": now,
        "tags": _pairs(values.get("tags"), "tags"),
        "params": _pairs(values.get("params"), "params"),
    }
    audit.target = f"runs/{run.id}/models/{model_id}"
    audit.after = {"name": record["name"], "via": "mlflow"}
    await run_in_threadpool(_save, s, run.id, model_id, record)
    return {"model": model_json(run, exp_id, model_id, record)}


@router.post("/logged-models/search")
async def search_logged_models(request: Request, principal: Principal = reader()) -> Any:
    from mainsail.tracking._mlflow_filter import filter_fields

    values = await fields(request)
    s = store(request)
    ids = values.get("experiment_ids") or []
    names = [experiment_name(s, i) for i in ([ids] if isinstance(ids, str) else ids)]
    ids_by_name = {e.name: experiment_id(e) for e in s.list_experiments()}

    def read() -> list[dict[str, Any]]:
        out = []
        for run in s.search_runs(names or None, None, (), None):
            if not principal.role_in(run.experiment):
                continue
            for key, raw in run.tags.items():
                if key.startswith(TAG_PREFIX):
                    model_id = key[len(TAG_PREFIX) :]
                    exp_id = ids_by_name.get(run.experiment, "0")
                    out.append(model_json(run, exp_id, model_id, json.loads(raw)))
        return out

    models = await run_in_threadpool(read)
    names_map = {"name": "name", "source_run_id": "source_run_id", "model_id": "model_id"}
    models = filter_fields(models, values.get("filter"), names_map, lambda m: m["info"])
    models.sort(key=lambda m: -m["info"]["creation_timestamp_ms"])
    offset = int(values.get("page_token") or 0)
    limit = int(values.get("max_results") or 100)
    out: dict[str, Any] = {"models": models[offset : offset + limit]}
    if offset + limit < len(models):
        out["next_page_token"] = str(offset + limit)
    return out


@router.get("/logged-models/{model_id}")
async def get_logged_model(
    request: Request, model_id: str, _: Principal = reader(_model_project)
) -> Any:
    s = store(request)
    run, record = await run_in_threadpool(find, s, model_id)
    exp_id = next(experiment_id(e) for e in s.list_experiments() if e.name == run.experiment)
    return {"model": model_json(run, exp_id, model_id, record)}


@router.patch("/logged-models/{model_id}")
async def finalize_logged_model(
    request: Request,
    model_id: str,
    audit: Audit = permit("runs.log_model", "developer", _model_project),
) -> Any:
    values = await fields(request)
    status = str(required(values, "status"))
    if status not in _STATUSES:
        raise MlflowError(f"status must be one of {', '.join(_STATUSES)}; got {status!r}.")
    s = store(request)
    run, record = await run_in_threadpool(find, s, model_id)
    record["status"] = status
    audit.target = f"runs/{run.id}/models/{model_id}"
    audit.after = {"status": status}
    await run_in_threadpool(_save, s, run.id, model_id, record)
    exp_id = next(experiment_id(e) for e in s.list_experiments() if e.name == run.experiment)
    return {"model": model_json(run, exp_id, model_id, record)}


async def _update(request: Request, audit: Audit, model_id: str, what: str) -> Any:
    values = await fields(request)
    s = store(request)
    run, record = await run_in_threadpool(find, s, model_id)
    record[what].update(_pairs(values.get(what), what))
    audit.target = f"runs/{run.id}/models/{model_id}"
    audit.after = {what: sorted(record[what])}
    await run_in_threadpool(_save, s, run.id, model_id, record)
    return {}


@router.patch("/logged-models/{model_id}/tags")
async def set_logged_model_tags(
    request: Request,
    model_id: str,
    audit: Audit = permit("runs.log_model", "developer", _model_project),
) -> Any:
    return await _update(request, audit, model_id, "tags")


@router.post("/logged-models/{model_id}/params")
async def log_logged_model_params(
    request: Request,
    model_id: str,
    audit: Audit = permit("runs.log_model", "developer", _model_project),
) -> Any:
    return await _update(request, audit, model_id, "params")


@router.post("/runs/outputs")
async def log_outputs(
    request: Request, _: Audit = permit("runs.log_outputs", "developer", run_project)
) -> Any:
    """The run's outputs are its logged models, which Mainsail already records with it."""
    values = await fields(request)
    required(values, "run_id")
    return {}
