"""MLflow's model registry: registered models, model versions, aliases and stages.

A registered model is a Mainsail model and a model version a Mainsail version, converted
from the MLflow folder on registration (:mod:`mainsail.registry._mlflow`). The MLflow files
stay where the client logged them, and ``get-download-uri`` points there, so
``mlflow.pyfunc.load_model("models:/name@alias")`` loads what MLflow wrote. Stages are
aliases: ``Production`` is the alias ``production``. A model exists once it has a version.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from mainsail.core._errors import NotFoundError
from mainsail.core._registry_schemas import ModelVersion, RegisteredModel
from mainsail.core._schemas import Run
from mainsail.security._roles import Principal
from mainsail.server._auth import Audit, permit, reader
from mainsail.server.routers._common import context, store
from mainsail.server.routers.mlflow._shared import (
    artifact_root,
    experiment_id,
    fields,
    model_project,
    required,
)
from mainsail.server.routers.mlflow.errors import MlflowError, MlflowRoute
from mainsail.server.routers.mlflow.logged_models import ARTIFACT_DIR, TAG_PREFIX, find
from mainsail.tracking._mlflow import VERSION_MODEL_ID_TAG, VERSION_SOURCE_TAG, VERSION_URI_TAG

router = APIRouter(route_class=MlflowRoute, tags=["mlflow"])

STAGES = ("Staging", "Production", "Archived")
SOURCE_TAG = VERSION_SOURCE_TAG
URI_TAG = VERSION_URI_TAG
MODEL_ID_TAG = VERSION_MODEL_ID_TAG
_HIDDEN = (SOURCE_TAG, URI_TAG, MODEL_ID_TAG)


def _stage(v: ModelVersion) -> str:
    if v.status == "archived":
        return "Archived"
    for stage in ("Production", "Staging"):
        if stage.lower() in v.aliases:
            return stage
    return "None"


def version_json(v: ModelVersion) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": v.name,
        "version": str(v.version),
        "creation_timestamp": v.created_at,
        "last_updated_timestamp": v.created_at,
        "current_stage": _stage(v),
        "description": v.description or "",
        "source": v.tags.get(SOURCE_TAG, f"models:/{v.name}/{v.version}"),
        "status": "READY",
        "tags": [{"key": k, "value": x} for k, x in sorted(v.tags.items()) if k not in _HIDDEN],
        "aliases": sorted(a for a in v.aliases if a.capitalize() not in STAGES),
    }
    if v.run_id:
        out["run_id"] = v.run_id
    if v.tags.get(MODEL_ID_TAG):
        out["model_id"] = v.tags[MODEL_ID_TAG]
    if v.created_by:
        out["user_id"] = v.created_by
    return out


def _model_json(m: RegisteredModel, versions: list[ModelVersion]) -> dict[str, Any]:
    latest: dict[str, ModelVersion] = {}
    for v in versions:
        latest[_stage(v)] = v  # versions come oldest first: the last one wins
    return {
        "name": m.name,
        "creation_timestamp": m.created_at,
        "last_updated_timestamp": max([m.created_at, *(v.created_at for v in versions)]),
        "description": m.description or "",
        "latest_versions": [version_json(v) for v in latest.values()],
        "aliases": [
            {"alias": a, "version": str(n)}
            for a, n in sorted(m.aliases.items())
            if a.capitalize() not in STAGES
        ],
        "tags": [],
    }


def _models(s: Any) -> dict[str, RegisteredModel]:
    return {m.name: m for m in s.list_models()}


def _get_model(s: Any, name: str) -> RegisteredModel:
    m = _models(s).get(name)
    if m is None:
        raise MlflowError(
            f"Registered Model with name={name} not found. Mainsail creates a model with its "
            "first version (mlflow.register_model).",
            "RESOURCE_DOES_NOT_EXIST",
        )
    return m


def _version(s: Any, values: dict[str, Any]) -> ModelVersion:
    name = str(required(values, "name"))
    raw = required(values, "version")
    try:
        number = int(raw)
    except (TypeError, ValueError):
        raise MlflowError(f"A model version is a number; got {raw!r}.") from None
    try:
        return s.get_model_version(name, number)  # type: ignore[no-any-return]
    except NotFoundError as exc:
        raise MlflowError(exc.message, "RESOURCE_DOES_NOT_EXIST") from None


# -- resolving an MLflow source to the run's files ---------------------------------------------
def _logged_model_of_run(run: Run, name: str) -> str | None:
    import json

    for key, raw in run.tags.items():
        if key.startswith(TAG_PREFIX) and json.loads(raw).get("name") == name:
            return key[len(TAG_PREFIX) :]
    return None


def resolve_source(
    s: Any, source: str, run_id: str | None, model_id: str | None
) -> tuple[Run, str, str]:
    """(run, artifact prefix, download uri) of an MLflow model source."""
    if not model_id and source.startswith("models:/m-"):
        model_id = source[len("models:/") :].strip("/")
    if not model_id and source.startswith("runs:/"):
        rid, _, path = source[len("runs:/") :].partition("/")
        run = s.get_run(rid)
        model_id = _logged_model_of_run(run, path.strip("/"))
        if model_id is None:
            return run, path.strip("/"), ""
    if model_id:
        run, _ = find(s, model_id)
        prefix = f"{ARTIFACT_DIR}/{model_id}"
        exp_id = next(experiment_id(e) for e in s.list_experiments() if e.name == run.experiment)
        return run, prefix, f"{artifact_root(exp_id)}/{ARTIFACT_DIR}/{model_id}/artifacts"
    if source.startswith("mlflow-artifacts:/"):
        from mainsail.server.routers.mlflow.artifacts import split

        rid, prefix = split(s, source[len("mlflow-artifacts:/") :])
        return s.get_run(rid), prefix, source
    if run_id:
        raise MlflowError(
            f"Cannot find the files of source {source!r}: Mainsail registers models logged "
            "to its own MLflow API (models:/m-..., runs:/<run id>/<path> or mlflow-artifacts:/).",
        )
    raise MlflowError(f"Expected a model source (models:/m-..., runs:/...); got {source!r}.")


def _fetch(ctx: Any, run: Run, prefix: str, dest: Path) -> None:
    files = [a for a in run.artifacts if a.kind == "file" and a.path.startswith(prefix + "/")]
    if not files:
        raise MlflowError(
            f"Run {run.id} has no files under {prefix!r}; log the model before registering it.",
            "RESOURCE_DOES_NOT_EXIST",
        )
    for a in files:
        target = dest / a.path[len(prefix) + 1 :]
        target.parent.mkdir(parents=True, exist_ok=True)
        ctx.artifacts.get_file(a.digest, target)


# -- registered models ---------------------------------------------------------------------------
@router.post("/registered-models/create")
async def create_registered_model(
    request: Request, audit: Audit = permit("models.create_version", "developer", model_project)
) -> Any:
    values = await fields(request)
    name = str(required(values, "name"))
    audit.target = f"models/{name}"
    if name in await run_in_threadpool(_models, store(request)):
        raise MlflowError(
            f"Registered Model (name={name}) already exists.", "RESOURCE_ALREADY_EXISTS"
        )
    now = int(time.time() * 1000)
    return {
        "registered_model": {
            "name": name,
            "creation_timestamp": now,
            "last_updated_timestamp": now,
            "description": values.get("description") or "",
        }
    }


@router.get("/registered-models/get")
async def get_registered_model(request: Request, _: Principal = reader(model_project)) -> Any:
    values = await fields(request)
    s = store(request)
    m = await run_in_threadpool(_get_model, s, str(required(values, "name")))
    versions = await run_in_threadpool(s.list_model_versions, m.name)
    return {"registered_model": _model_json(m, versions)}


@router.api_route("/registered-models/search", methods=["GET", "POST"])
async def search_registered_models(request: Request, principal: Principal = reader()) -> Any:
    from mainsail.tracking._mlflow_filter import filter_fields

    values = await fields(request)
    s = store(request)
    models = [m for m in s.list_models() if principal.role_in(m.name)]
    models = filter_fields(
        models, values.get("filter"), {"name": "name"}, lambda m: {"name": m.name}
    )
    offset = int(values.get("page_token") or 0)
    limit = int(values.get("max_results") or 100)
    page = models[offset : offset + limit]
    out: dict[str, Any] = {
        "registered_models": [_model_json(m, s.list_model_versions(m.name)) for m in page]
    }
    if offset + limit < len(models):
        out["next_page_token"] = str(offset + limit)
    return out


@router.post("/registered-models/get-latest-versions")
async def get_latest_versions(request: Request, _: Principal = reader(model_project)) -> Any:
    values = await fields(request)
    s = store(request)
    m = await run_in_threadpool(_get_model, s, str(required(values, "name")))
    stages = values.get("stages") or []
    latest = _model_json(m, s.list_model_versions(m.name))["latest_versions"]
    if stages:
        latest = [v for v in latest if v["current_stage"] in stages]
    return {"model_versions": latest}


@router.post("/registered-models/alias")
async def set_alias(
    request: Request, audit: Audit = permit("models.set_alias", "deployer", model_project)
) -> Any:
    values = await fields(request)
    name, alias = str(required(values, "name")), str(required(values, "alias"))
    v = _version(store(request), {"name": name, "version": required(values, "version")})
    audit.target = f"models/{name}@{alias}"
    audit.after = {"version": v.version, "via": "mlflow"}
    await run_in_threadpool(store(request).set_alias, name, alias, v.version, audit.actor)
    return {}


@router.delete("/registered-models/alias")
async def delete_alias(
    request: Request, audit: Audit = permit("models.delete_alias", "deployer", model_project)
) -> Any:
    values = await fields(request)
    name, alias = str(required(values, "name")), str(required(values, "alias"))
    audit.target = f"models/{name}@{alias}"
    await run_in_threadpool(store(request).delete_alias, name, alias, audit.actor)
    return {}


@router.get("/registered-models/alias")
async def get_version_by_alias(request: Request, _: Principal = reader(model_project)) -> Any:
    values = await fields(request)
    name, alias = str(required(values, "name")), str(required(values, "alias"))
    try:
        v = await run_in_threadpool(store(request).get_model_version, name, None, alias)
    except NotFoundError as exc:
        raise MlflowError(exc.message, "RESOURCE_DOES_NOT_EXIST") from None
    return {"model_version": version_json(v)}


# -- model versions ------------------------------------------------------------------------------
@router.post("/model-versions/create")
async def create_model_version(
    request: Request, audit: Audit = permit("models.create_version", "developer", model_project)
) -> Any:
    from mainsail.registry._mlflow import register_mlflow_model

    values = await fields(request)
    name = str(required(values, "name"))
    source = str(required(values, "source"))
    tags = {str(t["key"]): str(t.get("value", "")) for t in values.get("tags") or []}
    allow_pickle = tags.pop("mainsail.allow_pickle", "").lower() == "true"
    s, ctx = store(request), context(request)
    run_id = values.get("run_id")
    audit.target = f"models/{name}"

    def register() -> ModelVersion:
        run, prefix, uri = resolve_source(s, source, run_id, values.get("model_id"))
        tags[SOURCE_TAG] = source
        if uri:
            tags[URI_TAG] = uri
        if values.get("model_id") or prefix.startswith(ARTIFACT_DIR + "/"):
            tags[MODEL_ID_TAG] = values.get("model_id") or prefix.split("/")[1]
        with tempfile.TemporaryDirectory(prefix="mlflow-model-") as tmp:
            _fetch(ctx, run, prefix, Path(tmp))
            return register_mlflow_model(
                ctx,
                name,
                Path(tmp),
                run.id,
                allow_pickle,
                values.get("description"),
                tags,
                created_by=audit.actor,
            )

    v = await run_in_threadpool(register)
    audit.after = {"version": v.version, "flavor": v.flavor, "source": source, "via": "mlflow"}
    return {"model_version": version_json(v)}


@router.get("/model-versions/get")
async def get_model_version(request: Request, _: Principal = reader(model_project)) -> Any:
    v = await run_in_threadpool(_version, store(request), await fields(request))
    return {"model_version": version_json(v)}


@router.get("/model-versions/get-download-uri")
async def get_download_uri(request: Request, _: Principal = reader(model_project)) -> Any:
    v = await run_in_threadpool(_version, store(request), await fields(request))
    uri = v.tags.get(URI_TAG)
    if not uri:
        raise MlflowError(
            f"models:/{v.name}/{v.version} was registered with Mainsail's SDK, not from MLflow "
            "files; load it with mainsail.load_model.",
            "RESOURCE_DOES_NOT_EXIST",
        )
    return {"artifact_uri": uri}


@router.api_route("/model-versions/search", methods=["GET", "POST"])
async def search_model_versions(request: Request, principal: Principal = reader()) -> Any:
    from mainsail.tracking._mlflow_filter import filter_fields

    values = await fields(request)
    s = store(request)

    def read() -> list[dict[str, Any]]:
        out = []
        for m in s.list_models():
            if principal.role_in(m.name):
                out += [version_json(v) for v in s.list_model_versions(m.name)]
        return out

    found = await run_in_threadpool(read)
    names = {"name": "name", "run_id": "run_id", "source": "source", "version": "version"}
    found = filter_fields(found, values.get("filter"), names, lambda v: v)
    offset = int(values.get("page_token") or 0)
    limit = int(values.get("max_results") or 10000)
    out: dict[str, Any] = {"model_versions": found[offset : offset + limit]}
    if offset + limit < len(found):
        out["next_page_token"] = str(offset + limit)
    return out


@router.patch("/model-versions/update")
async def update_model_version(
    request: Request, audit: Audit = permit("models.update_version", "developer", model_project)
) -> Any:
    values = await fields(request)
    s = store(request)
    v = _version(s, values)
    audit.target = f"models/{v.name}/{v.version}"
    audit.after = {"description": values.get("description")}
    v = await run_in_threadpool(
        s.update_model_version, v.name, v.version, description=values.get("description")
    )
    return {"model_version": version_json(v)}


@router.post("/model-versions/set-tag")
async def set_model_version_tag(
    request: Request, audit: Audit = permit("models.update_version", "developer", model_project)
) -> Any:
    values = await fields(request)
    s = store(request)
    v = _version(s, values)
    key = str(required(values, "key"))
    audit.target = f"models/{v.name}/{v.version}"
    audit.after = {key: values.get("value")}
    tags = {**v.tags, key: str(values.get("value", ""))}
    await run_in_threadpool(s.update_model_version, v.name, v.version, tags=tags)
    return {}


@router.post("/model-versions/transition-stage")
async def transition_stage(
    request: Request, audit: Audit = permit("models.set_alias", "deployer", model_project)
) -> Any:
    values = await fields(request)
    s = store(request)
    v = _version(s, values)
    stage = str(required(values, "stage")).capitalize()
    if stage not in (*STAGES, "None"):
        raise MlflowError(f"stage must be one of None, {', '.join(STAGES)}; got {stage!r}.")
    audit.target = f"models/{v.name}/{v.version}"
    audit.after = {"stage": stage, "via": "mlflow"}

    def move() -> ModelVersion:
        for other in ("production", "staging"):
            if other in v.aliases and other != stage.lower():
                s.delete_alias(v.name, other, audit.actor)
        if stage in ("Production", "Staging"):
            s.set_alias(v.name, stage.lower(), v.version, audit.actor)
        elif stage == "Archived":
            s.set_version_status(v.name, v.version, "archived")
        return s.get_model_version(v.name, v.version)  # type: ignore[no-any-return]

    return {"model_version": version_json(await run_in_threadpool(move))}


@router.delete("/model-versions/delete")
async def delete_model_version(
    request: Request, audit: Audit = permit("models.delete_version", "deployer", model_project)
) -> Any:
    values = await fields(request)
    s = store(request)
    v = _version(s, values)
    audit.target = f"models/{v.name}/{v.version}"
    await run_in_threadpool(s.delete_model_version, v.name, v.version)
    return {}
