"""Pipeline runs (with why each step ran again), their records, the step cache and jobs.

Pipelines and jobs are server-wide: reads need a role on every project (``*``) and
enqueuing a job needs the developer role there, since a job runs code on the workers.

A worker on another host (``mainsail worker`` with ``MAINSAIL_TRACKING_URI``) serves the
queue through ``/jobs/claim`` (a long poll: the server waits up to ``wait_s`` for a due
job), ``/jobs/{id}/heartbeat``, ``/complete`` and ``/fail``. They need the developer role on
``*`` too (the same trust as enqueuing: a worker runs whatever is queued), keep the SQL
store's lease rules (only the worker holding the lease may heartbeat, complete or fail),
and the server reaps jobs whose worker went silent before it hands out a new one. Kinds
whose handler writes to the database itself (``automation.retrain``) are never handed to
a worker here: a worker next to the database runs them.

A client running a pipeline against this server (``MAINSAIL_TRACKING_URI``) executes
the steps itself and records them here through the routes that mirror the SQL store's
pipeline methods (pipeline runs, step runs, the step cache); they need the developer
role on ``*`` too. Claiming a cache key is atomic on the server, so two clients racing
on one step never both run it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mainsail.core._errors import InvalidValueError
from mainsail.core._ids import now_ms
from mainsail.server._auth import Audit, global_scope, permit, reader
from mainsail.server.routers._common import Body, context

router = APIRouter(tags=["pipelines"])
log = logging.getLogger("mainsail.jobs")

# any text: an id that is not 32 hex digits (or a unique prefix) is a clear 404 from the store
PipelineRunId = Annotated[str, Path(min_length=1, max_length=64)]
JobId = Annotated[int, Path(ge=1, le=2**63 - 1)]
StepRunId = Annotated[int, Path(ge=1, le=2**63 - 1)]
CacheKey = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
Digest = Annotated[str, Query(pattern=r"^[0-9a-f]{64}$")]
Short = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
StepName = Annotated[str, Field(min_length=1, max_length=256)]
Millis = Annotated[int, Field(ge=0, le=2**63 - 1)]
StepStatus = Literal["running", "succeeded", "cached", "failed", "skipped"]


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


WorkerId = Annotated[str, Field(min_length=1, max_length=256)]
LeaseMs = Annotated[int, Field(ge=100, le=86_400_000)]  # 0.1 s .. 1 day


class JobClaimIn(Body):
    queues: Annotated[list[Short], Field(min_length=1, max_length=50)]
    kinds: Annotated[list[Short], Field(min_length=1, max_length=200)]
    worker_id: WorkerId
    lease_ms: LeaseMs
    wait_s: Annotated[float, Field(ge=0, le=30)] = 0.0


class JobLeaseIn(Body):
    worker_id: WorkerId
    lease_ms: LeaseMs


class JobCompleteIn(Body):
    worker_id: WorkerId
    result: Any = None


class JobFailIn(Body):
    worker_id: WorkerId
    error: Annotated[str, Field(min_length=1, max_length=100_000)]
    retry_delay_ms: Annotated[int, Field(ge=0, le=86_400_000)] = 0
    retry: bool = True


class Held(_Out):
    held: bool


class FailedStatus(_Out):
    status: Literal["queued", "failed"] | None


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

    jobs = _list(context(request), status, queue, kind, limit)
    return [JobOut.model_validate(j) for j in jobs]


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(request: Request, job_id: JobId, _: Any = reader(global_scope)) -> Any:
    from mainsail.jobs import get_job as _get

    return JobOut.model_validate(_get(context(request), job_id))


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
        ctx,
        body.kind,
        body.payload,
        queue=body.queue,
        dedupe_key=body.dedupe_key,
        max_attempts=body.max_attempts,
        run_after_ms=body.run_after_ms,
    )
    audit.target = f"jobs/{job_id}"
    audit.after = {"kind": body.kind, "queue": body.queue, "dedupe_key": body.dedupe_key}
    return JobOut.model_validate(get_job(ctx, job_id))


# -- workers on other hosts ---------------------------------------------------------------
_POLL_S = 0.5  # how often a waiting claim looks for a due job (a read; the claim writes)
_REAP_S = 2.0  # at most this often, a claim first reaps jobs whose worker went silent


def _stopping(request: Request) -> bool:
    """Whether the server is shutting down (set by ``mainsail server``): end long polls."""
    stopping = getattr(request.app.state, "stopping", None)
    return bool(stopping()) if callable(stopping) else False


def _reap(request: Request) -> None:
    app_state = request.app.state
    now = time.monotonic()
    if now - getattr(app_state, "jobs_reaped_at", 0.0) < _REAP_S:
        return
    app_state.jobs_reaped_at = now
    from mainsail.jobs._queue import reap_and_log

    reap_and_log(context(request).database(), log)


def _bound(audit: Audit, worker_id: str) -> str:
    """The lease holder as the store sees it: the caller's name and its worker id, so one
    user's token cannot heartbeat, complete or fail another user's worker's job."""
    return f"{audit.principal.name}/{worker_id}"


@router.post("/jobs/claim", response_model=JobOut | None)
async def claim_job(
    request: Request,
    body: JobClaimIn,
    audit: Audit = permit("jobs.claim", "developer", global_scope),
) -> Any:
    """Claim the oldest due job of ``kinds`` in ``queues``, waiting up to ``wait_s`` for one.

    Answers the job (now running, leased to ``worker_id`` for ``lease_ms``) or null when
    none fell due in time, so an idle worker asks about once per ``wait_s``.
    """
    from mainsail.jobs._handlers import NEEDS_DATABASE

    refused = sorted(set(body.kinds) & NEEDS_DATABASE)
    if refused:
        raise InvalidValueError(
            f"Job kinds {', '.join(refused)} write to the metadata database themselves, so a "
            "worker talking to the server cannot run them. Leave them out of 'kinds' (the "
            "worker's default) and run a worker on a host that reaches the database for them."
        )
    store = context(request).database()
    audit.target = "jobs"
    deadline = time.monotonic() + body.wait_s
    while True:
        await run_in_threadpool(_reap, request)
        due = await run_in_threadpool(store.next_job_due, body.queues, body.kinds)
        now = now_ms()
        if due is not None and due <= now:
            row = await run_in_threadpool(
                store.claim_job,
                body.queues,
                _bound(audit, body.worker_id),
                body.lease_ms,
                body.kinds,
            )
            if row is not None:
                audit.target = f"jobs/{row['id']}"
                audit.after = {
                    "worker_id": body.worker_id,
                    "kind": row["kind"],
                    "attempt": row["attempts"],
                }
                return JobOut.model_validate(row)
        left = deadline - time.monotonic()
        if left <= 0 or _stopping(request) or await request.is_disconnected():
            audit.after = {"worker_id": body.worker_id, "claimed": None}
            return None
        pause = min(_POLL_S, left)
        if due is not None:  # a job due sooner than the next look: wake up for it
            pause = min(pause, max((due - now) / 1000, 0.01))
        await asyncio.sleep(pause)


@router.post("/jobs/{job_id}/heartbeat", response_model=Held)
def heartbeat_job(
    request: Request,
    job_id: JobId,
    body: JobLeaseIn,
    audit: Audit = permit("jobs.heartbeat", "developer", global_scope),
) -> Any:
    """Extend the lease; ``held`` is false if the job is no longer this worker's."""
    audit.target = f"jobs/{job_id}"
    held = context(request).store.heartbeat_job(
        job_id, _bound(audit, body.worker_id), body.lease_ms
    )
    audit.after = {"worker_id": body.worker_id, "held": held}
    return {"held": held}


@router.post("/jobs/{job_id}/complete", response_model=Held)
def complete_job(
    request: Request,
    job_id: JobId,
    body: JobCompleteIn,
    audit: Audit = permit("jobs.complete", "developer", global_scope),
) -> Any:
    """Mark the job done with ``result``; ``held`` is false (nothing changed) if it was no
    longer this worker's: its lease ran out and it was re-queued or failed."""
    audit.target = f"jobs/{job_id}"
    held = context(request).store.complete_job(job_id, _bound(audit, body.worker_id), body.result)
    audit.after = {"worker_id": body.worker_id, "held": held}
    return {"held": held}


@router.post("/jobs/{job_id}/fail", response_model=FailedStatus)
def fail_job(
    request: Request,
    job_id: JobId,
    body: JobFailIn,
    audit: Audit = permit("jobs.fail", "developer", global_scope),
) -> Any:
    """Record a failed attempt: ``status`` is queued (retried after ``retry_delay_ms``),
    failed (no attempts left, or ``retry`` false), or null if the job was not this worker's."""
    audit.target = f"jobs/{job_id}"
    status = context(request).store.fail_job(
        job_id, _bound(audit, body.worker_id), body.error, body.retry_delay_ms, retry=body.retry
    )
    audit.after = {"worker_id": body.worker_id, "status": status}
    return {"status": status}
