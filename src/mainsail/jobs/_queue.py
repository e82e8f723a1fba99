"""The database job queue: enqueue, inspect, reap jobs whose worker died.

Jobs live in the ``jobs`` table, so they survive restarts of every process. A job is
``queued`` → ``running`` (claimed by one worker, which extends a lease with heartbeats)
→ ``done`` or ``failed``. A failed attempt is retried after a back-off until
``max_attempts``; a running job whose lease ran out (its worker crashed or was killed)
is re-queued by :func:`reap_stale_jobs` — run by every worker and by the scheduler — or
marked failed when it has no attempts left. No job stays running forever.

Against a server (``MAINSAIL_TRACKING_URI``), :func:`enqueue`, :func:`get_job` and
:func:`list_jobs` call its ``/api/v1/jobs`` routes (enqueuing needs the developer role on
every project: a job runs code on the workers). A worker serves the queue through the
server's claim, heartbeat, complete and fail routes (see :mod:`mainsail.jobs._worker`);
the reaper stays with the database (the server reaps), so :func:`reap_stale_jobs` refuses.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from mainsail.core._errors import ConfigurationError, InvalidValueError, JobNotFoundError
from mainsail.core._ids import now_ms

if TYPE_CHECKING:
    from mainsail.store._context import Context


@dataclass(frozen=True)
class Job:
    """A job as stored. ``attempts`` counts claims so far (the current one included)."""

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

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Job:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


STATUSES = ("queued", "running", "done", "failed")
# the same rule as the server's POST /jobs, so a name works in both modes
_NAME = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
_CHARS = "letters, digits and _ . : -"


def needs_database(ctx: Context, what: str) -> None:
    """Refuse ``what`` (a worker, the reaper) when the store is a server, saying where to run it."""
    if ctx.is_remote:
        raise ConfigurationError(
            f"{what} needs the metadata database, and the store is the server at "
            f"{ctx.settings.tracking_uri}. Run it on a host that reaches the database: "
            "unset MAINSAIL_TRACKING_URI and set MAINSAIL_DATABASE_URL (the server's)."
        )


def enqueue(
    ctx: Context,
    kind: str,
    payload: Mapping[str, Any],
    *,
    queue: str = "default",
    dedupe_key: str | None = None,
    max_attempts: int = 3,
    run_after_ms: int | None = None,
) -> int:
    """Queue a job; returns its id. A queued or running job with ``dedupe_key`` is reused.

    Parameters
    ----------
    kind : the handler that runs it (``"pipeline"`` is built in).
    payload : JSON data passed to the handler.
    dedupe_key : at most one live job per key; enqueuing again returns the live job's id.
    max_attempts : how many times it may be claimed before it is failed for good.
    run_after_ms : not before this time (ms since epoch); default now.

    Examples
    --------
    >>> import mainsail
    >>> mainsail.enqueue_job("pipeline", {"pipeline": "my_project.train:pipeline"},
    ...                       dedupe_key="retrain:churn")  # doctest: +SKIP
    1
    """
    if not isinstance(kind, str) or not _NAME.fullmatch(kind):
        raise InvalidValueError(
            f"A job kind is a non-empty string of at most 64 characters ({_CHARS}). Got {kind!r}."
        )
    if not isinstance(queue, str) or not _NAME.fullmatch(queue):
        raise InvalidValueError(
            f"A queue name is a non-empty string of at most 64 characters ({_CHARS}). "
            f"Got {queue!r}."
        )
    if not isinstance(payload, Mapping):
        raise InvalidValueError(f"A job payload is a dict. Got {type(payload).__name__}.")
    try:
        data = orjson.loads(orjson.dumps(dict(payload)))
    except TypeError as exc:
        raise InvalidValueError(
            f"A job payload must be JSON data (it is stored in the database): {exc}."
        ) from None
    if (
        not isinstance(max_attempts, int)
        or isinstance(max_attempts, bool)
        or not 1 <= max_attempts <= 100
    ):
        raise InvalidValueError(
            f"max_attempts must be an integer >= 1 (at most 100). Got {max_attempts!r}."
        )
    if dedupe_key is not None and (
        not isinstance(dedupe_key, str) or not 1 <= len(dedupe_key) <= 256
    ):
        raise InvalidValueError(
            f"A dedupe_key is a non-empty string of at most 256 characters. Got {dedupe_key!r}."
        )
    if run_after_ms is not None and (
        not isinstance(run_after_ms, int)
        or isinstance(run_after_ms, bool)
        or not 0 <= run_after_ms <= 2**62
    ):
        raise InvalidValueError(
            f"run_after_ms is a time in ms since the epoch (an integer >= 0). Got {run_after_ms!r}."
        )
    if (api := ctx.remote) is not None:
        body = {
            "kind": kind,
            "payload": data,
            "queue": queue,
            "dedupe_key": dedupe_key,
            "max_attempts": max_attempts,
            "run_after_ms": run_after_ms,
        }
        return int(api.json("POST", "/jobs", json=body)["id"])
    job_id, _ = ctx.database("The job queue").enqueue_job(
        queue, kind, data, dedupe_key, max_attempts, run_after_ms or now_ms()
    )
    return job_id


def get_job(ctx: Context, job_id: int) -> Job:
    """A job by id."""
    missing = JobNotFoundError(
        f"No job with id {job_id!r}. List jobs with mainsail.list_jobs() or: mainsail jobs list."
    )
    if isinstance(job_id, bool) or not isinstance(job_id, int) or not 1 <= job_id < 2**63:
        raise missing
    if (api := ctx.remote) is not None:
        return Job(**api.json("GET", f"/jobs/{job_id}"))
    row = ctx.database("The job queue").get_job_row(job_id)
    if row is None:
        raise missing
    return Job.from_row(row)


def list_jobs(
    ctx: Context,
    status: str | None = None,
    queue: str | None = None,
    kind: str | None = None,
    limit: int = 100,
) -> list[Job]:
    """Jobs, newest first, optionally filtered by status (queued|running|done|failed)."""
    if status is not None and status not in STATUSES:
        raise InvalidValueError(f"Job status must be one of {', '.join(STATUSES)}. Got {status!r}.")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InvalidValueError(f"limit must be an integer in 1..1000. Got {limit!r}.")
    if (api := ctx.remote) is not None:
        params = {"status": status, "queue": queue, "kind": kind, "limit": limit}
        data = api.json("GET", "/jobs", params={k: v for k, v in params.items() if v is not None})
        return [Job(**j) for j in data]
    rows = ctx.database("The job queue").list_job_rows(status, queue, kind, limit)
    return [Job.from_row(r) for r in rows]


def reap_stale_jobs(ctx: Context) -> list[dict[str, Any]]:
    """Re-queue or fail running jobs whose worker stopped heartbeating; returns them."""
    return ctx.database("Reaping stale jobs").reap_stale_jobs()


def reap_and_log(store: Any, log: logging.Logger) -> None:
    """Reap jobs whose worker went silent and log each; a reaping hiccup is logged, not raised
    (the worker loop and the server's claim route both call it on the way)."""
    try:
        for r in store.reap_stale_jobs():
            log.warning(
                "job %s: worker %s stopped heartbeating on attempt %s; now %s",
                r["id"],
                r["claimed_by"],
                r["attempts"],
                r["status"],
            )
    except Exception:  # noqa: BLE001 - never stops a worker or fails a claim
        log.exception("reaping stale jobs failed")
