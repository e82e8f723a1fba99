"""Persistence of pipeline runs, step runs, the step cache and the job queue.

Rows are returned as plain dicts; :mod:`mainsail.pipelines` and :mod:`mainsail.jobs`
turn them into their public objects.

Claiming a job: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` lets any number of
workers claim disjoint jobs; on SQLite the write transaction (``BEGIN IMMEDIATE``) takes
the database lock, so claims are serialised — one worker per SQLite store is the
supported setup (more work, but they only take turns).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainsail.core._errors import InvalidValueError, NotFoundError, PipelineRunNotFoundError
from mainsail.core._ids import now_ms
from mainsail.store import _tables as t
from mainsail.store._upsert import upsert

if TYPE_CHECKING:
    from mainsail.store._db import Database

JOB_STATUSES = ("queued", "running", "done", "failed")
_ACTIVE = ("queued", "running")
CLAIM_STALE_MS = 6 * 3600 * 1000
"""A cache claim this old is taken over even if its pipeline run still says running.

A driver releases its claim when the step fails or the run is interrupted
(:meth:`PipelineStoreMixin.release_cache_entry`), and a claim whose run has finished is
taken over at once; this bound is for a run whose process died without saying so (its
status stays ``running``). Waiters log who holds the claim meanwhile.
"""
_PREFIX = re.compile(r"[0-9a-f]{6,31}")


def _row(r: Any) -> dict[str, Any]:
    return dict(r._mapping)


class PipelineStoreMixin:
    """SQL methods for pipelines and jobs; mixed into :class:`~mainsail.store.SqlStore`."""

    db: Database

    # -- pipeline runs ---------------------------------------------------------------------
    def create_pipeline_run(
        self,
        pipeline_run_id: str,
        pipeline: str,
        run_id: str | None,
        params: Mapping[str, Any],
        executor: str,
        trigger: Mapping[str, Any] | None = None,
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                t.pipeline_runs.insert().values(
                    id=pipeline_run_id,
                    pipeline=pipeline,
                    run_id=run_id,
                    status="running",
                    params=dict(params),
                    executor=executor,
                    outputs={},
                    trigger=dict(trigger) if trigger is not None else None,
                    created_at=now_ms(),
                )
            )

    def finish_pipeline_run(
        self,
        pipeline_run_id: str,
        status: str,
        outputs: Mapping[str, Any],
        error: str | None = None,
    ) -> None:
        if status not in ("succeeded", "failed"):
            raise InvalidValueError(
                f"A pipeline run finishes as succeeded or failed. Got {status!r}."
            )
        with self.db.write() as conn:
            res = conn.execute(
                t.pipeline_runs.update()
                .where(t.pipeline_runs.c.id == pipeline_run_id)
                .values(status=status, outputs=dict(outputs), error=error, finished_at=now_ms())
            )
            if not res.rowcount:
                raise _no_pipeline_run(conn, pipeline_run_id)

    def get_pipeline_run_row(self, pipeline_run_id: str) -> dict[str, Any]:
        """A pipeline run by id, or by a unique prefix of at least 6 characters."""
        c = t.pipeline_runs.c
        with self.db.read() as conn:
            row = conn.execute(sa.select(t.pipeline_runs).where(c.id == pipeline_run_id)).first()
            if row is None and _PREFIX.fullmatch(pipeline_run_id):
                rows = conn.execute(
                    sa.select(t.pipeline_runs).where(c.id.like(f"{pipeline_run_id}%")).limit(2)
                ).all()
                row = rows[0] if len(rows) == 1 else None
            if row is None:
                raise _no_pipeline_run(conn, pipeline_run_id)
            return _row(row)

    def list_pipeline_run_rows(
        self, pipeline: str | None = None, limit: int = 50, status: str | None = None
    ) -> list[dict[str, Any]]:
        c = t.pipeline_runs.c
        q = sa.select(t.pipeline_runs).order_by(c.created_at.desc(), c.id).limit(limit)
        if pipeline is not None:
            q = q.where(c.pipeline == pipeline)
        if status is not None:
            q = q.where(c.status == status)
        with self.db.read() as conn:
            return [_row(r) for r in conn.execute(q)]

    # -- step runs -------------------------------------------------------------------------
    def add_step_run(self, **fields: Any) -> int:
        """Insert a step run of ``fields["pipeline_run_id"]``; returns its id."""
        prid = fields.get("pipeline_run_id")
        with self.db.write() as conn:
            found = conn.execute(
                sa.select(t.pipeline_runs.c.id).where(t.pipeline_runs.c.id == prid)
            ).first()
            if found is None:
                raise _no_pipeline_run(conn, str(prid))
            res = conn.execute(t.step_runs.insert().values(**fields))
            return int(res.inserted_primary_key[0])  # type: ignore[index]

    def update_step_run(self, step_run_id: int, **fields: Any) -> None:
        c = t.step_runs.c
        with self.db.write() as conn:
            if fields:
                found = conn.execute(
                    t.step_runs.update().where(c.id == step_run_id).values(**fields)
                ).rowcount
            else:  # nothing to change: still say whether the step run exists
                found = conn.execute(sa.select(c.id).where(c.id == step_run_id)).first() is not None
            if not found:
                raise NotFoundError(
                    f"No step run with id {step_run_id}. Step run ids come from add_step_run; "
                    "list a pipeline run's steps with 'mainsail pipeline show RUN_ID'."
                )

    def step_run_rows(self, pipeline_run_id: str) -> list[dict[str, Any]]:
        c = t.step_runs.c
        q = sa.select(t.step_runs).where(c.pipeline_run_id == pipeline_run_id).order_by(c.id)
        with self.db.read() as conn:
            return [_row(r) for r in conn.execute(q)]

    def step_runs_producing(self, digest: str) -> list[dict[str, Any]]:
        """Step runs that wrote (or reused) an output with this digest, oldest first."""
        c = t.step_runs.c
        q = (
            sa.select(t.step_runs)
            .where(sa.cast(c.outputs, sa.Text).like(f"%{digest}%"))
            .where(c.status.in_(("succeeded", "cached")))
            .order_by(c.id)
        )
        with self.db.read() as conn:
            return [_row(r) for r in conn.execute(q)]

    def previous_step_run(self, pipeline: str, step: str, before_id: int) -> dict[str, Any] | None:
        """The last finished run of ``step`` in ``pipeline`` older than step run ``before_id``.

        Succeeded, cached and failed step runs count; skipped and running ones do not.
        """
        s, p = t.step_runs.c, t.pipeline_runs.c
        q = (
            sa.select(t.step_runs)
            .join(t.pipeline_runs, p.id == s.pipeline_run_id)
            .where(
                p.pipeline == pipeline,
                s.step == step,
                s.id < before_id,
                s.status.in_(("succeeded", "cached", "failed")),
            )
            .order_by(s.id.desc())
            .limit(1)
        )
        with self.db.read() as conn:
            row = conn.execute(q).first()
        return _row(row) if row is not None else None

    # -- step cache ------------------------------------------------------------------------
    def get_cache_entry(self, cache_key: str) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(t.step_cache).where(t.step_cache.c.cache_key == cache_key)
            ).first()
        return _row(row) if row is not None else None

    def latest_cache_entry(self, step: str) -> dict[str, Any] | None:
        c = t.step_cache.c
        q = sa.select(t.step_cache).where(c.step == step).order_by(c.created_at.desc()).limit(1)
        with self.db.read() as conn:
            row = conn.execute(q).first()
        return _row(row) if row is not None else None

    def begin_cache_entry(
        self,
        cache_key: str,
        step: str,
        components: Mapping[str, Any],
        pipeline_run_id: str,
        replace_committed: bool = False,
        stale_after_ms: int = CLAIM_STALE_MS,
    ) -> bool:
        """Claim ``cache_key`` for ``pipeline_run_id``: it will write the outputs.

        Returns True when the caller holds the claim (an uncommitted entry now names its
        pipeline run), False when it must not run the step: another pipeline run that is
        still running holds a live claim, or the entry was committed meanwhile and
        ``replace_committed`` is False (then the caller reuses it). A claim whose pipeline
        run has finished, or older than ``stale_after_ms``, is taken over. The check and the
        write are one transaction (SQLite's write lock; a per-key advisory lock on
        PostgreSQL), so of two racing callers exactly one gets the claim.
        """
        c = t.step_cache.c
        now = now_ms()
        with self.db.write() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                    {"k": f"mainsail-step-cache:{cache_key}"},
                )
            row = conn.execute(
                sa.select(c.committed, c.pipeline_run_id, c.created_at).where(
                    c.cache_key == cache_key
                )
            ).first()
            if row is not None:
                if row.committed and not replace_committed:
                    return False
                holder = row.pipeline_run_id
                if (
                    not row.committed
                    and holder not in (None, pipeline_run_id)
                    and now - row.created_at < stale_after_ms
                ):
                    status = conn.execute(
                        sa.select(t.pipeline_runs.c.status).where(t.pipeline_runs.c.id == holder)
                    ).scalar()
                    if status == "running":
                        return False
            upsert(
                conn,
                t.step_cache,
                [
                    {
                        "cache_key": cache_key,
                        "step": step,
                        "components": dict(components),
                        "outputs": {},
                        "committed": False,
                        "pipeline_run_id": pipeline_run_id,
                        "created_at": now,
                    }
                ],
                keys=["cache_key"],
                update=["components", "outputs", "committed", "pipeline_run_id", "created_at"],
            )
            return True

    def commit_cache_entry(self, cache_key: str, outputs: Mapping[str, Any]) -> None:
        """Every output is written: the entry may now be reused."""
        with self.db.write() as conn:
            res = conn.execute(
                t.step_cache.update()
                .where(t.step_cache.c.cache_key == cache_key)
                .values(outputs=dict(outputs), committed=True)
            )
            if not res.rowcount:
                raise _no_cache_entry(cache_key)

    def release_cache_entry(self, cache_key: str, pipeline_run_id: str) -> bool:
        """Give up ``pipeline_run_id``'s claim on ``cache_key`` (its step failed or stopped).

        Only an uncommitted entry this run holds is released: it keeps its components
        (``why_rerun`` still compares with them) but names no holder, so the next claim
        takes it at once instead of waiting for this run to end. Returns whether a claim
        was released.
        """
        c = t.step_cache.c
        with self.db.write() as conn:
            res = conn.execute(
                t.step_cache.update()
                .where(
                    c.cache_key == cache_key,
                    c.pipeline_run_id == pipeline_run_id,
                    c.committed.is_(False),
                )
                .values(pipeline_run_id=None)
            )
            return bool(res.rowcount)

    def invalidate_cache_entry(self, cache_key: str) -> None:
        """Mark the entry not reusable (the next run of its step runs it again)."""
        with self.db.write() as conn:
            res = conn.execute(
                t.step_cache.update()
                .where(t.step_cache.c.cache_key == cache_key)
                .values(committed=False)
            )
            if not res.rowcount:
                raise _no_cache_entry(cache_key)

    # -- jobs ------------------------------------------------------------------------------
    def enqueue_job(
        self,
        queue: str,
        kind: str,
        payload: Mapping[str, Any],
        dedupe_key: str | None,
        max_attempts: int,
        run_after_ms: int,
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
                    run_after=run_after_ms,
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


def _no_pipeline_run(conn: Any, pipeline_run_id: str) -> PipelineRunNotFoundError:
    c = t.pipeline_runs.c
    recent = conn.execute(sa.select(c.id).order_by(c.created_at.desc()).limit(5)).scalars()
    return PipelineRunNotFoundError(
        f"No pipeline run with id {pipeline_run_id!r} (ids are 32 hex digits; a "
        "unique prefix of 6 or more works). Most recent: "
        + (", ".join(r[:12] for r in recent) or "none yet")
        + ". List them with 'mainsail pipeline runs'."
    )


def _no_cache_entry(cache_key: str) -> NotFoundError:
    return NotFoundError(
        f"No step cache entry with key {cache_key!r}. Claim it first with "
        "begin_cache_entry; keys are the 64 hex digits shown by 'mainsail pipeline show'."
    )
