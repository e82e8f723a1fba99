"""Jobs: enqueue and read them, and serve the queue to workers on other hosts.

Jobs are server-wide: reads need a role on every project (``*``) and enqueuing a job needs
the developer role there, since a job runs code on the workers. A kind may need more (its
handler's ``role``), and a kind only its controller enqueues (``automation.retrain``: it
retrains, checks and deploys) is refused here whatever the caller's role.

A worker on another host (``mainsail worker`` with ``MAINSAIL_TRACKING_URI``) serves the
queue through ``/jobs/claim`` (a long poll: the server waits up to ``wait_s`` for a due
job), ``/jobs/{id}/heartbeat``, ``/complete`` and ``/fail``. They need the developer role on
``*`` too (the same trust as enqueuing: a worker runs whatever is queued), keep the SQL
store's lease rules (only the worker holding the lease may heartbeat, complete or fail),
and the server reaps jobs whose worker went silent before it hands out a new one. Kinds
whose handler writes to the database itself (``automation.retrain``) are never handed to
a worker here: a worker next to the database runs them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from mainsail.core._errors import InvalidValueError, PermissionDeniedError
from mainsail.core._ids import now_ms
from mainsail.jobs import Job
from mainsail.server._auth import Audit, global_scope, permit, reader
from mainsail.server.routers._common import Body, context

router = APIRouter(tags=["jobs"])
log = logging.getLogger("mainsail.jobs")

JobId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Short = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


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


@router.get("/jobs", response_model=list[Job])
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

    return _list(context(request), status, queue, kind, limit)


@router.get("/jobs/{job_id}", response_model=Job)
def get_job(request: Request, job_id: JobId, _: Any = reader(global_scope)) -> Any:
    from mainsail.jobs import get_job as _get

    return _get(context(request), job_id)


@router.post("/jobs", status_code=201, response_model=Job)
def enqueue_job(
    request: Request,
    response: Response,
    body: JobIn,
    audit: Audit = permit("jobs.enqueue", "developer", global_scope),
) -> Any:
    """Queue a job for the workers: 201 with the new job, or 200 with the queued or running
    job that already has ``dedupe_key``."""
    from mainsail.jobs import get_job
    from mainsail.jobs._handlers import enqueue_role
    from mainsail.jobs._queue import submit

    audit.after = {"kind": body.kind, "queue": body.queue}
    needed = enqueue_role(body.kind)
    if needed is None:
        raise PermissionDeniedError(
            f"Jobs of kind {body.kind!r} are enqueued only by their controller, after its "
            "guards (role, approval, cooldown, one in flight); no caller may enqueue one "
            "directly. To retrain now, ask the automation: 'mainsail automation run NAME' "
            "(POST /api/v1/automations/NAME/run, deployer role)."
        )
    if not audit.principal.may(needed, "*"):
        raise PermissionDeniedError(
            f"Job kind {body.kind!r} needs the {needed} role on every project ('*'); "
            f"{audit.actor!r} has {audit.principal.role_in('*') or 'no role there'}. Ask an "
            f"admin: 'mainsail users grant NAME --role {needed} --project \"*\"'."
        )
    ctx = context(request)
    job_id, created = submit(
        ctx,
        body.kind,
        body.payload,
        queue=body.queue,
        dedupe_key=body.dedupe_key,
        max_attempts=body.max_attempts,
        run_after_ms=body.run_after_ms,
    )
    if not created:
        response.status_code = 200
    audit.target = f"jobs/{job_id}"
    audit.after = {
        "kind": body.kind,
        "queue": body.queue,
        "dedupe_key": body.dedupe_key,
        "created": created,
    }
    return get_job(ctx, job_id)


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


@router.post("/jobs/claim", response_model=Job | None)
async def claim_job(
    request: Request,
    body: JobClaimIn,
    audit: Audit = permit("jobs.claim", "developer", global_scope),
) -> Any:
    """Claim the oldest due job of ``kinds`` in ``queues``, waiting up to ``wait_s`` for one.

    Answers the job (now running, leased to ``worker_id`` for ``lease_ms``) or null when
    none fell due in time, so an idle worker asks about once per ``wait_s``.
    """
    from mainsail.jobs._handlers import needs_database

    refused = sorted(k for k in set(body.kinds) if needs_database(k))
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
                return Job.from_row(row)
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
