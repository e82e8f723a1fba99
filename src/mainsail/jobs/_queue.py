"""The database job queue: enqueue, inspect, reap jobs whose worker died.

Jobs live in the ``jobs`` table, so they survive restarts of every process. A job is
``queued`` → ``running`` (claimed by one worker, which extends a lease with heartbeats)
→ ``done`` or ``failed``. A failed attempt is retried after a back-off until
``max_attempts``; a running job whose lease ran out (its worker crashed or was killed)
is re-queued by :func:`reap_stale_jobs` — run by every worker and by the scheduler — or
marked failed when it has no attempts left. No job stays running forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from mainsail.core._errors import InvalidValueError, JobNotFoundError
from mainsail.core._ids import now_ms

if TYPE_CHECKING:
    from mainsail.client._context import Context


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


def _ctx(ctx: Context | None) -> Context:
    if ctx is not None:
        return ctx
    from mainsail.client._context import get_context

    return get_context()


def enqueue(
    kind: str,
    payload: Mapping[str, Any],
    *,
    queue: str = "default",
    dedupe_key: str | None = None,
    max_attempts: int = 3,
    run_after_ms: int | None = None,
    ctx: Context | None = None,
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
    >>> import mainsail.jobs
    >>> mainsail.jobs.enqueue("pipeline", {"pipeline": "my_project.train:pipeline"},
    ...                       dedupe_key="retrain:churn")  # doctest: +SKIP
    1
    """
    if not isinstance(kind, str) or not kind or len(kind) > 64:
        raise InvalidValueError(
            f"A job kind is a non-empty string of at most 64 characters. Got {kind!r}."
        )
    if not isinstance(queue, str) or not queue or len(queue) > 64:
        raise InvalidValueError(
            f"A queue name is a non-empty string of at most 64 characters. Got {queue!r}."
        )
    if not isinstance(payload, Mapping):
        raise InvalidValueError(f"A job payload is a dict. Got {type(payload).__name__}.")
    try:
        data = orjson.loads(orjson.dumps(dict(payload)))
    except TypeError as exc:
        raise InvalidValueError(
            f"A job payload must be JSON data (it is stored in the database): {exc}."
        ) from None
    if not isinstance(max_attempts, int) or isinstance(max_attempts, bool) or max_attempts < 1:
        raise InvalidValueError(f"max_attempts must be an integer >= 1. Got {max_attempts!r}.")
    if dedupe_key is not None and (not isinstance(dedupe_key, str) or len(dedupe_key) > 256):
        raise InvalidValueError(
            f"A dedupe_key is a string of at most 256 characters. Got {dedupe_key!r}."
        )
    job_id, _ = _ctx(ctx).store.enqueue_job(
        queue, kind, data, dedupe_key, max_attempts, run_after_ms or now_ms()
    )
    return job_id


def get_job(job_id: int, ctx: Context | None = None) -> Job:
    """A job by id."""
    row = _ctx(ctx).store.get_job_row(int(job_id))
    if row is None:
        raise JobNotFoundError(
            f"No job with id {job_id}. List jobs with mainsail.jobs.list_jobs()."
        )
    return Job.from_row(row)


def list_jobs(
    status: str | None = None,
    queue: str | None = None,
    kind: str | None = None,
    limit: int = 100,
    ctx: Context | None = None,
) -> list[Job]:
    """Jobs, newest first, optionally filtered by status (queued|running|done|failed)."""
    rows = _ctx(ctx).store.list_job_rows(status, queue, kind, limit)
    return [Job.from_row(r) for r in rows]


def reap_stale_jobs(ctx: Context | None = None) -> list[dict[str, Any]]:
    """Re-queue or fail running jobs whose worker stopped heartbeating; returns them."""
    return _ctx(ctx).store.reap_stale_jobs()
