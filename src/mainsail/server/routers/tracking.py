"""Experiments and runs: create, log params, tags and metric batches, end, search."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import Field

from mainsail.core._errors import InvalidValueError
from mainsail.core._schemas import Experiment, MetricPoint, Run
from mainsail.security._roles import Principal
from mainsail.server._auth import Audit, denied, from_body, permit, reader, run_project
from mainsail.server.routers._common import Body, Int64, Name, context, store
from mainsail.server.routers.artifacts import check_reference

router = APIRouter(tags=["tracking"])

MetricRowIn = tuple[Name, float, Int64, Int64]


class ExperimentIn(Body):
    name: Name


class ExperimentId(Body):
    id: int


class EnvironmentIn(Body):
    digest: Annotated[str, Field(min_length=1, max_length=64)]
    data: dict[str, Any]


class RunIn(Body):
    run_id: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
    experiment: Name
    name: Annotated[str, Field(max_length=250)]
    params: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, Any] = Field(default_factory=dict)
    environment: EnvironmentIn | None = None
    user: Annotated[str, Field(max_length=256)] | None = None
    source: Annotated[str, Field(max_length=1024)] | None = None
    git_commit: Annotated[str, Field(max_length=64)] | None = None
    git_dirty: bool | None = None
    seed: Int64 | None = None
    start_time: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None
    pid: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    host: Annotated[str, Field(max_length=256)] | None = None
    heartbeats: bool = Field(
        default=True,
        description="False for a client that sends no heartbeats: the reaper leaves the run be",
    )


class RunFieldsIn(Body):
    user: Annotated[str, Field(max_length=256)] | None = None
    source: Annotated[str, Field(max_length=1024)] | None = None
    git_commit: Annotated[str, Field(max_length=64)] | None = None
    git_dirty: bool | None = None
    seed: Int64 | None = None


class EndRunIn(Body):
    status: Annotated[str, Field(max_length=16, description="finished, failed or killed")]
    metrics: list[MetricRowIn] = Field(default_factory=list)
    end_time: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None


class ParamsIn(Body):
    params: dict[str, Any]


class TagsIn(Body):
    tags: dict[str, Any]


class MetricsIn(Body):
    points: list[MetricRowIn] = Field(description="[key, value, step, ts_ms] rows, in one batch")


class ArtifactIn(Body):
    path: Annotated[str, Field(min_length=1, max_length=1024)]
    digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Field(ge=0, le=2**63 - 1)]
    kind: Literal["file", "dir"]


class InputIn(Body):
    dataset_version_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    context: Annotated[str, Field(max_length=64)] | None = None


class Reaped(Body):
    reaped: int


class Status(Body):
    status: str


def _checked(points: list[Any]) -> list[tuple[str, float, int, int]]:
    from mainsail.store._sql_store import check_metric

    return [(k, check_metric(k, v), int(s), int(ts)) for k, v, s, ts in points]


def _scalars(values: dict[str, Any], what: str) -> dict[str, Any]:
    for k, v in values.items():
        if isinstance(v, dict | list):
            raise InvalidValueError(
                f"{what} {k!r} must be a string, number or boolean; got a {type(v).__name__}. "
                "Log structured values as an artifact."
            )
    return values


@router.get("/experiments", response_model=list[Experiment])
def list_experiments(request: Request, principal: Principal = reader()) -> Any:
    return [e for e in store(request).list_experiments() if principal.role_in(e.name)]


@router.post("/experiments", response_model=ExperimentId)
def create_experiment(
    request: Request,
    body: ExperimentIn,
    audit: Audit = permit("experiments.create", "developer", from_body("name")),
) -> Any:
    audit.target = f"experiments/{body.name}"
    exp_id = store(request).get_or_create_experiment(body.name)
    audit.after = {"id": exp_id}
    return {"id": exp_id}


class RunId(Body):
    id: str


@router.post("/runs", status_code=201, response_model=RunId)
def create_run(
    request: Request,
    body: RunIn,
    audit: Audit = permit("runs.create", "developer", from_body("experiment")),
) -> Any:
    audit.target = f"runs/{body.run_id}"
    env = (body.environment.digest, body.environment.data) if body.environment else None
    fields = body.model_dump(
        include={
            "user",
            "source",
            "git_commit",
            "git_dirty",
            "seed",
            "start_time",
            "pid",
            "host",
            "heartbeats",
        },
        exclude_none=True,
    )
    s = store(request)
    s.create_run(
        body.run_id,
        body.experiment,
        body.name,
        _scalars(body.params, "Param"),
        _scalars(body.tags, "Tag"),
        env,
        **fields,
    )
    audit.after = {"experiment": body.experiment, "name": body.name, "params": body.params}
    return {"id": body.run_id}


@router.get("/runs", response_model=list[Run])
def search_runs(
    request: Request,
    experiment: Annotated[list[str] | None, Query()] = None,
    filter: Annotated[str | None, Query(max_length=10000)] = None,
    order_by: Annotated[list[str] | None, Query()] = None,
    max_results: Annotated[int | None, Query(ge=0, le=100000)] = 1000,
    principal: Principal = reader(),
) -> Any:
    from mainsail.tracking._filter import parse_filter, parse_order_by

    for name in experiment or ():
        if not principal.may("viewer", name):
            raise denied(principal, "viewer", name)
    runs = store(request).search_runs(
        experiment or None,
        parse_filter(filter),
        parse_order_by(list(order_by or [])),
        max_results,
    )
    return [r for r in runs if principal.role_in(r.experiment)]


@router.post("/runs/reap", response_model=Reaped)
def reap_dead_runs(request: Request, audit: Audit = permit("runs.reap", "developer")) -> Any:
    """Fail runs whose process on the server's host died; only in the caller's projects
    (those it has the developer role on), unless it has the role on every project."""
    audit.target = "runs"
    s = store(request)
    principal = audit.principal
    mine = None
    if not principal.may("developer", "*"):
        mine = [e.name for e in s.list_experiments() if principal.may("developer", e.name)]
    n = s.reap_dead_runs(experiments=mine)
    audit.after = {"reaped": n, "experiments": mine}
    return {"reaped": n}


@router.get("/runs/{run_id}", response_model=Run)
def get_run(request: Request, run_id: str, _: Any = reader(run_project)) -> Any:
    return store(request).get_run(run_id)


@router.get("/runs/{run_id}/status", response_model=Status)
def run_status(request: Request, run_id: str, _: Any = reader(run_project)) -> Any:
    return {"status": store(request).run_status(run_id)}


@router.patch("/runs/{run_id}", status_code=204)
def set_run_fields(
    request: Request,
    run_id: str,
    body: RunFieldsIn,
    audit: Audit = permit("runs.update", "developer", run_project),
) -> None:
    audit.target = f"runs/{run_id}"
    fields = body.model_dump(exclude_unset=True)
    audit.after = fields
    if fields:
        store(request).set_run_fields(run_id, **fields)


@router.post("/runs/{run_id}/end", status_code=204)
def end_run(
    request: Request,
    run_id: str,
    body: EndRunIn,
    audit: Audit = permit("runs.end", "developer", run_project),
) -> None:
    audit.target = f"runs/{run_id}"
    audit.after = {"status": body.status, "metrics": len(body.metrics)}
    store(request).end_run(run_id, body.status, _checked(body.metrics), body.end_time)


class Running(Body):
    running: bool


@router.post("/runs/{run_id}/heartbeat", response_model=Running)
def heartbeat_run(
    request: Request,
    run_id: str,
    audit: Audit = permit("runs.heartbeat", "developer", run_project),
) -> Any:
    """The run's process is alive (every ``run_heartbeat_interval``); reaping needs none on
    its host, so a run on another host that stops sending them is marked failed."""
    audit.target = f"runs/{run_id}"
    return {"running": store(request).heartbeat_run(run_id)}


@router.post("/runs/{run_id}/params", status_code=204)
def log_params(
    request: Request,
    run_id: str,
    body: ParamsIn,
    audit: Audit = permit("runs.log_params", "developer", run_project),
) -> None:
    audit.target = f"runs/{run_id}"
    audit.after = {"keys": sorted(body.params)[:100]}
    store(request).log_params(run_id, _scalars(body.params, "Param"))


@router.post("/runs/{run_id}/tags", status_code=204)
def set_tags(
    request: Request,
    run_id: str,
    body: TagsIn,
    audit: Audit = permit("runs.set_tags", "developer", run_project),
) -> None:
    audit.target = f"runs/{run_id}"
    audit.after = _scalars(body.tags, "Tag")
    store(request).set_tags(run_id, body.tags)


@router.delete("/runs/{run_id}/tags/{key:path}", status_code=204)
def delete_tag(
    request: Request,
    run_id: str,
    key: str,
    audit: Audit = permit("runs.delete_tag", "developer", run_project),
) -> None:
    audit.target = f"runs/{run_id}"
    audit.before = {"key": key}
    store(request).delete_tag(run_id, key)


@router.post("/runs/{run_id}/metrics", status_code=204)
def log_metrics(
    request: Request,
    run_id: str,
    body: MetricsIn,
    audit: Audit = permit("runs.log_metrics", "developer", run_project),
) -> None:
    audit.target = f"runs/{run_id}"
    audit.after = {"points": len(body.points)}
    store(request).log_metrics(run_id, _checked(body.points))


@router.get("/runs/{run_id}/metric-history", response_model=list[MetricPoint])
def metric_history(
    request: Request,
    run_id: str,
    key: Annotated[str, Query(min_length=1, max_length=250)],
    _: Any = reader(run_project),
) -> Any:
    return store(request).metric_history(run_id, key)


@router.post("/runs/{run_id}/artifacts", status_code=204)
def add_artifact(
    request: Request,
    run_id: str,
    body: ArtifactIn,
    audit: Audit = permit("runs.add_artifact", "developer", run_project),
) -> None:
    audit.target = f"runs/{run_id}/artifacts/{body.path}"
    audit.after = body.model_dump()
    check_reference(context(request), audit.principal, body.digest, folder=body.kind == "dir")
    store(request).add_artifact(run_id, body.path, body.digest, body.size, body.kind)


@router.post("/runs/{run_id}/inputs", status_code=204)
def add_run_input(
    request: Request,
    run_id: str,
    body: InputIn,
    audit: Audit = permit("runs.add_input", "developer", run_project),
) -> None:
    audit.target = f"runs/{run_id}"
    audit.after = body.model_dump()
    store(request).add_run_input(run_id, body.dataset_version_id, body.context)


@router.get("/environments/{digest}", response_model=dict[str, Any] | None)
def get_environment(request: Request, digest: str, _: Any = reader()) -> Any:
    return store(request).get_environment(digest)
