"""MLflow experiments: create, get, get-by-name, search (update, delete, restore refused)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from mainsail.security._roles import Principal
from mainsail.server._auth import Audit, permit, reader
from mainsail.server.routers._common import store
from mainsail.server.routers.mlflow._shared import (
    experiment_json,
    experiment_name,
    experiment_project,
    fields,
    required,
)
from mainsail.server.routers.mlflow.errors import MlflowError, MlflowRoute

router = APIRouter(route_class=MlflowRoute, tags=["mlflow"])


@router.post("/experiments/create")
async def create_experiment(
    request: Request,
    audit: Audit = permit("experiments.create", "developer", experiment_project),
) -> Any:
    values = await fields(request)
    name = required(values, "name")
    if not isinstance(name, str) or len(name) > 250:
        raise MlflowError(f"An experiment name is a string of 1-250 characters; got {name!r}.")
    s = store(request)
    if name in {e.name for e in s.list_experiments()}:
        raise MlflowError(
            f"Experiment {name!r} already exists. Use get-by-name to find its id.",
            "RESOURCE_ALREADY_EXISTS",
        )
    audit.target = f"experiments/{name}"
    s.get_or_create_experiment(name)
    exp = next(e for e in s.list_experiments() if e.name == name)
    out = experiment_json(exp)
    audit.after = {"id": out["experiment_id"], "via": "mlflow"}
    return {"experiment_id": out["experiment_id"]}


@router.get("/experiments/get")
async def get_experiment(request: Request, _: Principal = reader(experiment_project)) -> Any:
    values = await fields(request)
    s = store(request)
    name = experiment_name(s, required(values, "experiment_id"))
    exp = next(e for e in s.list_experiments() if e.name == name)
    return {"experiment": experiment_json(exp)}


@router.get("/experiments/get-by-name")
async def get_experiment_by_name(
    request: Request, _: Principal = reader(experiment_project)
) -> Any:
    values = await fields(request)
    name = required(values, "experiment_name")
    s = store(request)
    if name == "Default":
        s.get_or_create_experiment(name)
    for e in s.list_experiments():
        if e.name == name:
            return {"experiment": experiment_json(e)}
    raise MlflowError(f"Could not find experiment with name {name!r}.", "RESOURCE_DOES_NOT_EXIST")


@router.api_route("/experiments/search", methods=["GET", "POST"])
async def search_experiments(request: Request, principal: Principal = reader()) -> Any:
    values = await fields(request)
    view = str(values.get("view_type") or "ACTIVE_ONLY")
    exps = [e for e in store(request).list_experiments() if principal.role_in(e.name)]
    if view == "DELETED_ONLY":
        exps = []
    flt = values.get("filter")
    if flt:
        from mainsail.tracking._mlflow_filter import filter_experiments

        exps = filter_experiments(exps, str(flt))
    offset = int(values.get("page_token") or 0)
    limit = int(values.get("max_results") or 1000)
    page = exps[offset : offset + limit]
    out: dict[str, Any] = {"experiments": [experiment_json(e) for e in page]}
    if offset + limit < len(exps):
        out["next_page_token"] = str(offset + limit)
    return out


@router.post("/experiments/set-experiment-tag")
async def set_experiment_tag(
    request: Request,
    audit: Audit = permit("experiments.set_tag", "developer", experiment_project),
) -> Any:
    values = await fields(request)
    experiment_name(store(request), required(values, "experiment_id"))
    raise MlflowError(
        "Mainsail experiments carry no tags; tag the runs instead (MlflowClient.set_tag).",
    )


async def _permanent(request: Request, what: str) -> Any:
    values = await fields(request)
    name = experiment_name(store(request), required(values, "experiment_id"))
    raise MlflowError(
        f"Mainsail cannot {what} experiment {name!r}: an experiment is the project that roles "
        "are granted on, and keeps its name and runs. Delete or tag the runs instead "
        "(MlflowClient.delete_run, set_tag), or start runs in a new experiment."
    )


@router.post("/experiments/update")
async def update_experiment(
    request: Request,
    audit: Audit = permit("experiments.update", "developer", experiment_project),
) -> Any:
    return await _permanent(request, "rename")


@router.post("/experiments/delete")
async def delete_experiment(
    request: Request,
    audit: Audit = permit("experiments.delete", "developer", experiment_project),
) -> Any:
    return await _permanent(request, "delete")


@router.post("/experiments/restore")
async def restore_experiment(
    request: Request,
    audit: Audit = permit("experiments.restore", "developer", experiment_project),
) -> Any:
    return await _permanent(request, "restore (it was never deleted)")
