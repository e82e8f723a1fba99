"""Pipeline runs (with why each step ran again) and the job queue.

Pipelines and jobs are server-wide: reads need a role on every project (``*``) and
enqueuing a job needs the developer role there, since a job runs code on the workers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from mainsail.server._auth import Audit, global_scope, permit, reader
from mainsail.server.routers._common import Body, context

router = APIRouter(tags=["pipelines"])

PipelineRunId = Annotated[str, Path(pattern=r"^[0-9a-f]{6,32}$")]
JobId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Short = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class StepRunOut(_Out):
    id: int
    pipeline_run_id: str
    step: str
    status: str
    cache_key: str
    reason: list[str]
    outputs: dict[str, str]
    output_meta: dict[str, dict[str, Any]]
    inputs: dict[str, dict[str, Any]]
    cached_from: str | None = None
    error: str | None = None
    started_at: int | None = None
    finished_at: int | None = None


class PipelineRunOut(_Out):
    id: str
    pipeline: str
    status: str
    run_id: str | None
    params: dict[str, Any]
    executor: str
    output_meta: dict[str, dict[str, Any]]
    steps: list[StepRunOut]
    trigger: dict[str, Any] | None = None
    error: str | None = None
    created_at: int | None = None
    finished_at: int | None = None


class RerunOut(_Out):
    step: str
    status: str
    reason: list[str]
    compared_to: str | None = None
    changes: list[str] = Field(default_factory=list)


class JobOut(_Out):
    id: int
    queue: str
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int
    max_attempts: int
    run_after: int
    created_at: int
    dedupe_key: str | None = None
    claimed_by: str | None = None
    claimed_at: int | None = None
    heartbeat_at: int | None = None
    lease_expires_at: int | None = None
    result: Any = None
    error: str | None = None
    finished_at: int | None = None


class JobIn(Body):
    kind: Short
    payload: dict[str, Any] = Field(default_factory=dict)
    queue: Short = "default"
    dedupe_key: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 3
    run_after_ms: Annotated[int, Field(ge=0, le=2**62)] | None = None


@router.get("/pipeline-runs", response_model=list[PipelineRunOut])
def list_pipeline_runs(
    request: Request,
    pipeline: Annotated[str | None, Query(min_length=1, max_length=500)] = None,
    status: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    _: Any = reader(global_scope),
) -> Any:
    """Recent pipeline runs, newest first."""
    from mainsail.pipelines._records import load_pipeline_run

    ctx = context(request)
    rows = ctx.store.list_pipeline_run_rows(pipeline, limit, status)
    return [PipelineRunOut.model_validate(load_pipeline_run(ctx, r["id"])) for r in rows]


@router.get("/pipeline-runs/{run_id}", response_model=PipelineRunOut)
def get_pipeline_run(request: Request, run_id: PipelineRunId, _: Any = reader(global_scope)) -> Any:
    """A pipeline run by id (or a unique prefix of 6+ hex digits) with its step runs."""
    from mainsail.pipelines._records import load_pipeline_run

    return PipelineRunOut.model_validate(load_pipeline_run(context(request), run_id))


@router.get("/pipeline-runs/{run_id}/why-rerun", response_model=list[RerunOut])
def why_rerun(
    request: Request,
    run_id: PipelineRunId,
    step: Annotated[str | None, Query(min_length=1, max_length=250)] = None,
    _: Any = reader(global_scope),
) -> Any:
    """Why each step (or ``step``) of the run ran again instead of coming from the cache."""
    from mainsail.pipelines._lineage import why_rerun as _why

    return [RerunOut.model_validate(e) for e in _why(context(request), run_id, step)]


@router.get("/jobs", response_model=list[JobOut])
def list_jobs(
    request: Request,
    status: Literal["queued", "running", "done", "failed"] | None = None,
    queue: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    kind: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    _: Any = reader(global_scope),
) -> Any:
    """Jobs, newest first."""
    from mainsail.jobs import list_jobs as _list

    jobs = _list(status, queue, kind, limit, ctx=context(request))
    return [JobOut.model_validate(j) for j in jobs]


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(request: Request, job_id: JobId, _: Any = reader(global_scope)) -> Any:
    from mainsail.jobs import get_job as _get

    return JobOut.model_validate(_get(job_id, ctx=context(request)))


@router.post("/jobs", status_code=201, response_model=JobOut)
def enqueue_job(
    request: Request,
    body: JobIn,
    audit: Audit = permit("jobs.enqueue", "developer", global_scope),
) -> Any:
    """Queue a job for the workers (a live job with the same ``dedupe_key`` is reused)."""
    from mainsail.jobs import enqueue, get_job

    ctx = context(request)
    job_id = enqueue(
        body.kind,
        body.payload,
        queue=body.queue,
        dedupe_key=body.dedupe_key,
        max_attempts=body.max_attempts,
        run_after_ms=body.run_after_ms,
        ctx=ctx,
    )
    audit.target = f"jobs/{job_id}"
    audit.after = {"kind": body.kind, "queue": body.queue, "dedupe_key": body.dedupe_key}
    return JobOut.model_validate(get_job(job_id, ctx=ctx))
