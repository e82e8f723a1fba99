"""Pipeline runs (with why each step ran again), their records and the step cache.

Pipelines are server-wide: reads need a role on every project (``*``). A client running a
pipeline against this server (``MAINSAIL_TRACKING_URI``) executes the steps itself and
records them here through the routes that mirror the SQL store's pipeline methods (pipeline
runs, step runs, the step cache); they need the developer role on ``*`` too. Claiming a cache key is atomic on the server, so two clients racing
on one step never both run it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mainsail.pipelines import PipelineRun, RerunExplanation
from mainsail.server._auth import Audit, global_scope, permit, reader
from mainsail.server.routers._common import Body, context

router = APIRouter(tags=["pipelines"])

# any text: an id that is not 32 hex digits (or a unique prefix) is a clear 404 from the store
PipelineRunId = Annotated[str, Path(min_length=1, max_length=64)]
StepRunId = Annotated[int, Path(ge=1, le=2**63 - 1)]
CacheKey = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
Digest = Annotated[str, Query(pattern=r"^[0-9a-f]{64}$")]
Short = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
StepName = Annotated[str, Field(min_length=1, max_length=256)]
Millis = Annotated[int, Field(ge=0, le=2**63 - 1)]
StepStatus = Literal["running", "succeeded", "cached", "failed", "skipped"]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PipelineRunIn(Body):
    id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    pipeline: StepName
    run_id: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    executor: Short
    trigger: dict[str, Any] | None = None


class FinishIn(Body):
    status: Literal["succeeded", "failed"]
    outputs: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


class StepRunFields(Body):
    """The fields a PATCH changes: an omitted field keeps its stored value.

    ``status``, ``inputs`` and ``outputs`` are never null in the store, so an explicit
    null is refused rather than stored (a null there broke every later read); the other
    fields may be cleared with null.
    """

    status: StepStatus | None = None
    inputs: dict[str, dict[str, Any]] | None = None
    outputs: dict[str, dict[str, Any]] | None = None
    reason: list[str] | None = None
    cached_from: Annotated[str, Field(max_length=32)] | None = None
    error: str | None = None
    started_at: Millis | None = None
    finished_at: Millis | None = None

    @field_validator("status", "inputs", "outputs", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        # runs only for a field the request sent: defaults are not validated
        if value is None:
            statuses = ", ".join(get_args(StepStatus))
            hint = (
                f"one of {statuses}" if info.field_name == "status" else "an object ({} for none)"
            )
            raise ValueError(
                f"{info.field_name} cannot be null; send {hint}, or omit the field to keep "
                "the stored value"
            )
        return value


class StepRunIn(StepRunFields):
    step: StepName
    cache_key: Annotated[str, Field(pattern=r"^([0-9a-f]{64})?$")]
    status: StepStatus
    inputs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    reason: list[str] = Field(default_factory=list)


class StepRunRow(_Out):
    """A step run as stored: ``outputs`` maps each output to its artifact meta."""

    id: int
    pipeline_run_id: str
    step: str
    cache_key: str
    status: str
    inputs: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]
    reason: list[str] | None = None
    cached_from: str | None = None
    error: str | None = None
    started_at: int | None = None
    finished_at: int | None = None


class CacheEntryOut(_Out):
    cache_key: str
    step: str
    components: dict[str, Any]
    outputs: dict[str, dict[str, Any]]
    committed: bool
    pipeline_run_id: str | None = None
    created_at: int


class ClaimIn(Body):
    step: StepName
    components: dict[str, Any]
    pipeline_run_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    replace_committed: bool = False


class Claimed(_Out):
    claimed: bool


class ReleaseIn(Body):
    pipeline_run_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


class Released(_Out):
    released: bool


class CommitIn(Body):
    outputs: dict[str, dict[str, Any]]


class CreatedId(_Out):
    id: str | int


@router.get("/pipeline-runs", response_model=list[PipelineRun])
def list_pipeline_runs(
    request: Request,
    pipeline: Annotated[str | None, Query(min_length=1, max_length=500)] = None,
    status: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    _: Any = reader(global_scope),
) -> Any:
    """Recent pipeline runs, newest first."""
    from mainsail.pipelines import list_pipeline_runs as _list

    return _list(context(request), pipeline, limit, status)


@router.get("/pipeline-runs/{run_id}", response_model=PipelineRun)
def get_pipeline_run(request: Request, run_id: PipelineRunId, _: Any = reader(global_scope)) -> Any:
    """A pipeline run by id (or a unique prefix of 6+ hex digits) with its step runs."""
    from mainsail.pipelines import get_pipeline_run as _get

    return _get(context(request), run_id)


@router.get("/pipeline-runs/{run_id}/why-rerun", response_model=list[RerunExplanation])
def why_rerun(
    request: Request,
    run_id: PipelineRunId,
    step: Annotated[str | None, Query(min_length=1, max_length=250)] = None,
    _: Any = reader(global_scope),
) -> Any:
    """Why each step (or ``step``) of the run ran again instead of coming from the cache."""
    from mainsail.pipelines import why_rerun as _why

    return _why(context(request), run_id, step)


@router.post("/pipeline-runs", status_code=201, response_model=CreatedId)
def create_pipeline_run(
    request: Request,
    body: PipelineRunIn,
    audit: Audit = permit("pipelines.create_run", "developer", global_scope),
) -> Any:
    """Record a pipeline run that a client is about to execute (status running)."""
    audit.target = f"pipeline-runs/{body.id}"
    context(request).store.create_pipeline_run(
        body.id, body.pipeline, body.run_id, body.params, body.executor, body.trigger
    )
    audit.after = {"pipeline": body.pipeline, "run_id": body.run_id, "executor": body.executor}
    return {"id": body.id}


@router.post("/pipeline-runs/{run_id}/finish", status_code=204)
def finish_pipeline_run(
    request: Request,
    run_id: PipelineRunId,
    body: FinishIn,
    audit: Audit = permit("pipelines.finish_run", "developer", global_scope),
) -> None:
    audit.target = f"pipeline-runs/{run_id}"
    context(request).store.finish_pipeline_run(run_id, body.status, body.outputs, body.error)
    audit.after = {"status": body.status}


@router.get("/pipeline-runs/{run_id}/step-runs", response_model=list[StepRunRow])
def step_run_rows(request: Request, run_id: PipelineRunId, _: Any = reader(global_scope)) -> Any:
    """The run's step runs as stored, in the order they were recorded."""
    return context(request).store.step_run_rows(run_id)


@router.post("/pipeline-runs/{run_id}/step-runs", status_code=201, response_model=CreatedId)
def add_step_run(
    request: Request,
    run_id: PipelineRunId,
    body: StepRunIn,
    audit: Audit = permit("pipelines.add_step", "developer", global_scope),
) -> Any:
    fields = body.model_dump(exclude_none=True)
    step_run_id = context(request).store.add_step_run(pipeline_run_id=run_id, **fields)
    audit.target = f"step-runs/{step_run_id}"
    audit.after = {"pipeline_run": run_id, "step": body.step, "status": body.status}
    return {"id": step_run_id}


@router.patch("/step-runs/{step_run_id}", status_code=204)
def update_step_run(
    request: Request,
    step_run_id: StepRunId,
    body: StepRunFields,
    audit: Audit = permit("pipelines.update_step", "developer", global_scope),
) -> None:
    audit.target = f"step-runs/{step_run_id}"
    fields = body.model_dump(exclude_unset=True)
    context(request).store.update_step_run(step_run_id, **fields)
    audit.after = {"status": fields.get("status")}


@router.get("/step-runs", response_model=list[StepRunRow])
def step_runs_producing(request: Request, produced: Digest, _: Any = reader(global_scope)) -> Any:
    """Step runs that wrote (or reused) an artifact with digest ``produced``, oldest first."""
    return context(request).store.step_runs_producing(produced)


@router.get("/step-runs/previous", response_model=StepRunRow | None)
def previous_step_run(
    request: Request,
    pipeline: Annotated[str, Query(min_length=1, max_length=256)],
    step: Annotated[str, Query(min_length=1, max_length=256)],
    before: Annotated[int, Query(ge=1, le=2**63 - 1)],
    _: Any = reader(global_scope),
) -> Any:
    """The last finished run of ``step`` in ``pipeline`` before step run ``before``."""
    return context(request).store.previous_step_run(pipeline, step, before)


@router.get("/step-cache/latest", response_model=CacheEntryOut | None)
def latest_cache_entry(
    request: Request,
    step: Annotated[str, Query(min_length=1, max_length=256)],
    _: Any = reader(global_scope),
) -> Any:
    """The newest cache entry of ``step`` (committed or not), or null."""
    return context(request).store.latest_cache_entry(step)


@router.get("/step-cache/{key}", response_model=CacheEntryOut | None)
def get_cache_entry(request: Request, key: CacheKey, _: Any = reader(global_scope)) -> Any:
    """The cache entry for ``key``, or null."""
    return context(request).store.get_cache_entry(key)


@router.post("/step-cache/{key}/claim", response_model=Claimed)
def begin_cache_entry(
    request: Request,
    key: CacheKey,
    body: ClaimIn,
    audit: Audit = permit("pipelines.claim_cache", "developer", global_scope),
) -> Any:
    """Claim ``key`` for a pipeline run; ``claimed`` is false if another run holds it."""
    audit.target = f"step-cache/{key}"
    claimed = context(request).store.begin_cache_entry(
        key,
        body.step,
        body.components,
        body.pipeline_run_id,
        replace_committed=body.replace_committed,
    )
    audit.after = {"pipeline_run": body.pipeline_run_id, "claimed": claimed}
    return {"claimed": claimed}


@router.post("/step-cache/{key}/commit", status_code=204)
def commit_cache_entry(
    request: Request,
    key: CacheKey,
    body: CommitIn,
    audit: Audit = permit("pipelines.commit_cache", "developer", global_scope),
) -> None:
    """Every output of the entry is written: it may now be reused."""
    audit.target = f"step-cache/{key}"
    context(request).store.commit_cache_entry(key, body.outputs)
    audit.after = {"outputs": {k: m.get("digest") for k, m in body.outputs.items()}}


@router.post("/step-cache/{key}/release", response_model=Released)
def release_cache_entry(
    request: Request,
    key: CacheKey,
    body: ReleaseIn,
    audit: Audit = permit("pipelines.release_cache", "developer", global_scope),
) -> Any:
    """Give up a pipeline run's uncommitted claim on ``key`` (its step failed)."""
    audit.target = f"step-cache/{key}"
    released = context(request).store.release_cache_entry(key, body.pipeline_run_id)
    audit.after = {"pipeline_run": body.pipeline_run_id, "released": released}
    return {"released": released}


@router.post("/step-cache/{key}/invalidate", status_code=204)
def invalidate_cache_entry(
    request: Request,
    key: CacheKey,
    audit: Audit = permit("pipelines.invalidate_cache", "developer", global_scope),
) -> None:
    audit.target = f"step-cache/{key}"
    context(request).store.invalidate_cache_entry(key)
