"""What the MLflow routers share: ids, JSON shapes, request fields and project resolvers.

MLflow names an experiment by a string id; Mainsail's experiments have integer ids and the
name is what roles are granted on. MLflow's default experiment ``"0"`` is Mainsail's
experiment ``Default``. A run keeps its id (MLflow's 32-hex run ids are valid Mainsail ids).
A deleted MLflow run is a Mainsail run tagged ``mlflow.lifecycle_stage=deleted``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from fastapi import Request

from mainsail.core._schemas import Experiment, Run
from mainsail.server.routers.mlflow.errors import MlflowError

if TYPE_CHECKING:
    from mainsail.store.protocols import LocalStore

from mainsail.tracking._mlflow import DEFAULT_EXPERIMENT, LIFECYCLE_TAG

__all__ = ["DEFAULT_EXPERIMENT", "LIFECYCLE_TAG"]
_STATUS_OUT = {"running": "RUNNING", "finished": "FINISHED", "failed": "FAILED", "killed": "KILLED"}


def experiment_id(exp: Experiment) -> str:
    return "0" if exp.name == DEFAULT_EXPERIMENT else str(exp.id)


def experiments_by_id(store: Any) -> dict[str, Experiment]:
    return {experiment_id(e): e for e in store.list_experiments()}


def experiment_name(store: Any, exp_id: Any) -> str:
    """The Mainsail experiment of MLflow id ``exp_id`` (``"0"`` is created on first use)."""
    exp_id = str(exp_id if exp_id not in (None, "") else "0")
    if exp_id == "0":
        store.get_or_create_experiment(DEFAULT_EXPERIMENT)
        return DEFAULT_EXPERIMENT
    exp = experiments_by_id(store).get(exp_id)
    if exp is None:
        raise MlflowError(
            f"No experiment with id {exp_id!r}. Expected the id of an existing experiment; "
            "list them with MlflowClient().search_experiments().",
            "RESOURCE_DOES_NOT_EXIST",
        )
    return exp.name


def artifact_root(exp_id: str) -> str:
    return f"mlflow-artifacts:/{exp_id}"


def experiment_json(exp: Experiment) -> dict[str, Any]:
    eid = experiment_id(exp)
    return {
        "experiment_id": eid,
        "name": exp.name,
        "artifact_location": artifact_root(eid),
        "lifecycle_stage": "active",
        "creation_time": exp.created_at,
        "last_update_time": exp.created_at,
        "tags": [],
    }


def run_info(run: Run, exp_id: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": run.name,
        "experiment_id": exp_id,
        "user_id": run.user or "",
        "status": _STATUS_OUT.get(run.status, "RUNNING"),
        "start_time": run.start_time,
        "artifact_uri": f"{artifact_root(exp_id)}/{run.id}/artifacts",
        "lifecycle_stage": run.tags.get(LIFECYCLE_TAG, "active"),
    }
    if run.end_time is not None:
        info["end_time"] = run.end_time
    return info


def run_json(
    run: Run, exp_id: str, steps: dict[str, tuple[int, int]] | None = None
) -> dict[str, Any]:
    """MLflow's ``Run``: info, data (latest metrics, params, tags) and inputs."""
    steps = steps or {}
    ts = run.end_time or run.start_time
    tags = {k: v for k, v in run.tags.items() if k != LIFECYCLE_TAG}
    tags.setdefault("mlflow.runName", run.name)
    if run.user:
        tags.setdefault("mlflow.user", run.user)
    return {
        "info": run_info(run, exp_id),
        "data": {
            "metrics": [
                {
                    "key": k,
                    "value": v,
                    "timestamp": steps.get(k, (0, ts))[1],
                    "step": steps.get(k, (0, ts))[0],
                }
                for k, v in sorted(run.metrics.items())
            ],
            "params": [{"key": k, "value": v} for k, v in sorted(run.params.items())],
            "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())],
        },
        "inputs": {
            "dataset_inputs": [
                {
                    "tags": [{"key": "mlflow.data.context", "value": i.context}]
                    if i.context
                    else [],
                    "dataset": {
                        "name": i.dataset,
                        "digest": i.digest,
                        "source_type": "mainsail",
                        "source": i.address,
                    },
                }
                for i in run.inputs
            ]
        },
    }


def new_run_id() -> str:
    return uuid.uuid4().hex


async def fields(request: Request) -> dict[str, Any]:
    """The request's fields: its query string, and its JSON body (not for a GET)."""
    out: dict[str, Any] = {}
    for k, v in request.query_params.multi_items():
        if k in out:
            prev = out[k]
            out[k] = [*prev, v] if isinstance(prev, list) else [prev, v]
        else:
            out[k] = v
    if request.method == "GET":
        return out
    try:
        body = await request.json()
    except Exception:  # noqa: BLE001 - an empty or broken body has no fields
        return out
    return {**out, **body} if isinstance(body, dict) else out


def required(values: dict[str, Any], key: str, *alternatives: str) -> Any:
    for k in (key, *alternatives):
        v = values.get(k)
        if v not in (None, ""):
            return v
    raise MlflowError(f"Missing value for required parameter '{key}'. Give '{key}' in the request.")


# -- project resolvers (for reader() / permit()) -------------------------------------------------
async def run_project(request: Request, store: LocalStore) -> str | None:
    """The experiment of the run named by ``run_id`` / ``run_uuid`` in the request."""
    values = await fields(request)
    run_id = values.get("run_id") or values.get("run_uuid")
    if isinstance(run_id, list):
        run_id = run_id[0]
    return store.run_experiment(str(run_id)) if run_id else None


async def model_project(request: Request, store: LocalStore) -> str | None:
    """The registered model named by ``name`` (a model's project is its name)."""
    name = (await fields(request)).get("name")
    return name if isinstance(name, str) else None


async def experiment_project(request: Request, store: LocalStore) -> str | None:
    """The experiment named by ``experiment_id`` (or ``experiment_name``, ``name``)."""
    values = await fields(request)
    name = values.get("experiment_name") or values.get("name")
    if isinstance(name, str):
        return name
    exp_id = values.get("experiment_id")
    if exp_id is None:
        return None
    try:
        return experiment_name(store, exp_id)
    except MlflowError:
        return None
