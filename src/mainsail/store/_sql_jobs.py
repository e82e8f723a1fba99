"""Persistence of the job queue: enqueue, claim with a lease, heartbeat, finish, reap.

Rows are returned as plain dicts; :mod:`mainsail.jobs` turns them into :class:`~mainsail.jobs.Job`.

Claiming a job: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` lets any number of
workers claim disjoint jobs; on SQLite the write transaction (``BEGIN IMMEDIATE``) takes
the database lock, so claims are serialised — one worker per SQLite store is the
supported setup (more work, but they only take turns).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainsail.core._errors import InvalidValueError
from mainsail.core._ids import now_ms
from mainsail.store import _tables as t

if TYPE_CHECKING:
    from mainsail.store._db import Database

from mainsail.store.protocols.jobs import JOB_STATUSES

_ACTIVE = ("queued", "running")


def _row(r: Any) -> dict[str, Any]:
    return dict(r._mapping)


class JobStoreMixin:
    """SQL methods of the job queue; mixed into :class:`~mainsail.store.SqlStore`."""

    db: Database

    def enqueue_job(
        self,
        queue: str,
        kind: str,
        payload: Mapping[str, Any],
        dedupe_key: str | None,
        max_attempts: int,
        run_after_ms: int | None = None,
    ) -> tuple[int, bool]:
        """Insert a queued job; returns (id, created). A live job with ``dedupe_key`` wins."""
        c = t.jobs.c
        with self.db.write() as conn:
            if dedupe_key is not None:
                if conn.dialect.name == "postgresql":  # two enqueuers must not both insert
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                        {"k": f"mainsail-job:{dedupe_key}"},
                    )
                existing = conn.execute(
                    sa.select(c.id)
                    .where(c.dedupe_key == dedupe_key, c.status.in_(_ACTIVE))
                    .order_by(c.id)
                    .limit(1)
                ).scalar()
                if existing is not None:
                    return int(existing), False
            res = conn.execute(
                t.jobs.insert().values(
                    queue=queue,
                    kind=kind,
                    payload=dict(payload),
                    status="queued",
                    attempts=0,
                    max_attempts=max_attempts,
                    run_after=now_ms() if run_after_ms is None else run_after_ms,
                    dedupe_key=dedupe_key,
                    created_at=now_ms(),
                )
            )
            return int(res.inserted_primary_key[0]), True  # type: ignore[index]

    def claim_job(
        self,
        queues: Sequence[str],
        worker_id: str,
        lease_ms: int,
        kinds: Sequence[str] | None = None,
        wait_s: float = 0.0,  # the SQL store does not wait: an embedded worker polls
    ) -> dict[str, Any] | None:
        """Claim the oldest due job in ``queues`` (of ``kinds``, if given), or None."""
        c = t.jobs.c
        now = now_ms()
        with self.db.write() as conn:
            q = (
                sa.select(t.jobs)
                .where(c.queue.in_(list(queues)), c.status == "queued", c.run_after <= now)
                .order_by(c.run_after, c.id)
                .limit(1)
            )
            if kinds is not None:
                q = q.where(c.kind.in_(list(kinds)))
            if conn.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            row = conn.execute(q).first()
            if row is None:
                return None
            values = {
                "status": "running",
                "attempts": row.attempts + 1,
                "claimed_by": worker_id,
                "claimed_at": now,
                "heartbeat_at": now,
                "lease_expires_at": now + lease_ms,
            }
            conn.execute(t.jobs.update().where(c.id == row.id).values(**values))
            job = _row(row)
            job.update(values)
            return job

    def next_job_due(self, queues: Sequence[str], kinds: Sequence[str] | None = None) -> int | None:
        """When the next queued job in ``queues`` (of ``kinds``) is due (ms), or None.

        A read: a long-polling claim asks this and takes the write lock only for a job.
        """
        c = t.jobs.c
        q = sa.select(sa.func.min(c.run_after)).where(
            c.queue.in_(list(queues)), c.status == "queued"
        )
        if kinds is not None:
            q = q.where(c.kind.in_(list(kinds)))
        with self.db.read() as conn:
            due = conn.execute(q).scalar()
        return int(due) if due is not None else None

    def heartbeat_job(self, job_id: int, worker_id: str, lease_ms: int) -> bool:
        """Extend the lease; False if the job is no longer this worker's (it was reaped)."""
        c = t.jobs.c
        now = now_ms()
        with self.db.write() as conn:
            res = conn.execute(
                t.jobs.update()
                .where(c.id == job_id, c.claimed_by == worker_id, c.status == "running")
                .values(heartbeat_at=now, lease_expires_at=now + lease_ms)
            )
            return bool(res.rowcount)

    def complete_job(self, job_id: int, worker_id: str, result: Any) -> bool:
        c = t.jobs.c
        with self.db.write() as conn:
            res = conn.execute(
                t.jobs.update()
                .where(c.id == job_id, c.claimed_by == worker_id, c.status == "running")
                .values(status="done", result=result, error=None, finished_at=now_ms())
            )
            return bool(res.rowcount)

    def fail_job(
        self, job_id: int, worker_id: str, error: str, retry_delay_ms: int, retry: bool = True
    ) -> str | None:
        """Record a failed attempt: back to queued (after a delay) or failed for good.

        Returns the new status, or None if the job was no longer this worker's.
        """
        c = t.jobs.c
        now = now_ms()
        with self.db.write() as conn:
            row = conn.execute(
                sa.select(c.attempts, c.max_attempts).where(
                    c.id == job_id, c.claimed_by == worker_id, c.status == "running"
                )
            ).first()
            if row is None:
                return None
            again = retry and row.attempts < row.max_attempts
            values: dict[str, Any] = {"error": error}
            if again:
                values.update(status="queued", run_after=now + retry_delay_ms, claimed_by=None)
            else:
                values.update(status="failed", finished_at=now)
            conn.execute(t.jobs.update().where(c.id == job_id).values(**values))
            return str(values["status"])

    def reap_stale_jobs(self, now: int | None = None) -> list[dict[str, Any]]:
        """Re-queue (or fail, past max_attempts) running jobs whose lease ran out.

        Returns ``{"id", "status", "claimed_by", "attempts"}`` for each job reaped.
        """
        c = t.jobs.c
        now = now_ms() if now is None else now
        reaped: list[dict[str, Any]] = []
        with self.db.write() as conn:
            q = sa.select(c.id, c.attempts, c.max_attempts, c.claimed_by, c.heartbeat_at).where(
                c.status == "running", c.lease_expires_at < now
            )
            if conn.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            for row in conn.execute(q).all():
                silent_s = (now - (row.heartbeat_at or now)) / 1000
                error = (
                    f"Worker {row.claimed_by} stopped sending heartbeats {silent_s:.1f} s ago "
                    f"during attempt {row.attempts} of {row.max_attempts} (it crashed or was "
                    "killed)."
                )
                if row.attempts < row.max_attempts:
                    values: dict[str, Any] = {
                        "status": "queued",
                        "claimed_by": None,
                        "run_after": now,
                        "error": error + " Re-queued.",
                    }
                else:
                    values = {
                        "status": "failed",
                        "finished_at": now,
                        "error": error + " No attempts left.",
                    }
                conn.execute(t.jobs.update().where(c.id == row.id).values(**values))
                reaped.append(
                    {
                        "id": row.id,
                        "status": values["status"],
                        "claimed_by": row.claimed_by,
                        "attempts": row.attempts,
                    }
                )
        return reaped

    def get_job_row(self, job_id: int) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(sa.select(t.jobs).where(t.jobs.c.id == job_id)).first()
        return _row(row) if row is not None else None

    def list_job_rows(
        self,
        status: str | None = None,
        queue: str | None = None,
        kind: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        c = t.jobs.c
        if status is not None and status not in JOB_STATUSES:
            raise InvalidValueError(
                f"Job status must be one of {', '.join(JOB_STATUSES)}. Got {status!r}."
            )
        q = sa.select(t.jobs).order_by(c.id.desc()).limit(limit)
        if status is not None:
            q = q.where(c.status == status)
        if queue is not None:
            q = q.where(c.queue == queue)
        if kind is not None:
            q = q.where(c.kind == kind)
        with self.db.read() as conn:
            return [_row(r) for r in conn.execute(q)]
