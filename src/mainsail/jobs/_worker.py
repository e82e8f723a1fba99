"""``mainsail worker``: claim jobs from the database queue and run their handlers.

Any number of workers share a PostgreSQL store (claims use ``FOR UPDATE SKIP LOCKED``).
On SQLite, run one worker per store: claims are serialised by the database write lock,
and a second worker only takes turns with the first.

While a job runs, a heartbeat thread extends its lease every ``lease_s / 3`` seconds. If
the worker dies, the lease runs out and the next :func:`reap_stale_jobs` (every worker
runs it, and so does the scheduler) re-queues the job for another worker — or fails it
if it has used up ``max_attempts``.

With ``MAINSAIL_TRACKING_URI`` set, a worker serves the queue through the server instead
(a team's workers need no database credentials): it long-polls ``/jobs/claim`` (one
request per ``wait_s`` when idle), heartbeats, completes and fails through the API with
the same lease rules, and leaves reaping to the server. It claims only the kinds it can
run there: every kind it has a handler for except those that write to the database
themselves (``automation.retrain``; run one worker next to the database for those).
"""

from __future__ import annotations

import logging
import os
import threading
import traceback
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from mainsail.core._errors import InvalidValueError, MainsailError, UnknownJobKindError
from mainsail.core._ids import hostname
from mainsail.jobs._claims import CLAIMS, Claims
from mainsail.jobs._handlers import Handler, LegacyHandler, known_kinds, resolve_handler
from mainsail.jobs._queue import Job

if TYPE_CHECKING:
    from mainsail.store._context import Context

log = logging.getLogger("mainsail.jobs")


class Worker:
    """Claims and runs jobs until stopped (or idle, or ``max_jobs`` are done).

    Parameters
    ----------
    queues : the queues to serve.
    poll_s : seconds between looks at the database when idle (embedded).
    lease_s : seconds without a heartbeat before the job is given to another worker.
    kinds : the job kinds to claim. Default: any kind embedded (one without a handler is
        failed); against a server, every kind with a handler here except those that need
        the database (``automation.retrain``).
    wait_s : against a server, how long one claim waits for a due job (at most 30 s); a
        stop request takes effect when the wait ends.

    Examples
    --------
    >>> from mainsail.jobs import Worker
    >>> Worker(queues=["default"], lease_s=30).run(until_idle=True)  # doctest: +SKIP
    2
    """

    def __init__(
        self,
        ctx: Context,
        queues: Sequence[str] = ("default",),
        poll_s: float = 0.5,
        lease_s: float = 30.0,
        worker_id: str | None = None,
        *,
        handlers: dict[str, str | Handler | LegacyHandler] | None = None,
        retry_delay_s: float = 5.0,
        kinds: Sequence[str] | None = None,
        wait_s: float = 20.0,
    ) -> None:
        if isinstance(queues, str):
            queues = [queues]
        if not queues:
            raise InvalidValueError("A worker needs at least one queue name. Got none.")
        if lease_s <= 0 or poll_s <= 0:
            raise InvalidValueError(
                f"lease_s and poll_s must be positive seconds. Got lease_s={lease_s}, "
                f"poll_s={poll_s}."
            )
        if not 0 <= wait_s <= 30:
            raise InvalidValueError(f"wait_s must be seconds in 0..30. Got wait_s={wait_s}.")
        if isinstance(kinds, str):
            kinds = [kinds]
        if kinds is not None and not kinds:
            raise InvalidValueError(
                "kinds lists the job kinds to claim; got an empty list. Leave it out to "
                "claim every kind this worker has a handler for."
            )
        self.queues = list(queues)
        self.kinds = list(kinds) if kinds is not None else None
        self.wait_s = wait_s
        self.poll_s = poll_s
        self.lease_s = lease_s
        self.worker_id = worker_id or f"{hostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.handlers = dict(handlers or {})
        self.retry_delay_s = retry_delay_s
        self.ctx = ctx
        self.claims: Claims = ctx.service(CLAIMS)
        self._stop = threading.Event()
        self.processed = 0

    @property
    def via(self) -> str | None:
        """The server this worker serves the queue through (``MAINSAIL_TRACKING_URI``), or
        None next to the database."""
        return self.claims.via

    @property
    def remote(self) -> bool:
        """Whether this worker serves the queue through a server."""
        return self.via is not None

    def claim_kinds(self) -> list[str] | None:
        """The kinds this worker claims (None: any kind, next to the database without
        ``kinds``)."""
        known = known_kinds(self.handlers)
        unknown = sorted(set(self.kinds or ()) - set(known))
        if unknown:  # it would claim them only to fail them
            raise UnknownJobKindError(
                f"No handler for job kind(s) {', '.join(map(repr, unknown))} in this worker. "
                f"Known kinds: {', '.join(known)}. Pass a handler with "
                "'mainsail worker --handler kind=module:function' (or handlers=...)."
            )
        return self.claims.kinds(known, self.kinds)

    def stop(self) -> None:
        """Stop after the current job (a graceful shutdown: SIGTERM in the CLI)."""
        self._stop.set()

    # -- the loop --------------------------------------------------------------------------
    def run(self, max_jobs: int | None = None, until_idle: bool = False) -> int:
        """Process jobs; returns how many were processed (done or failed)."""
        self.claim_kinds()  # a misconfiguration fails before the loop, which retries outages
        wait_s = 0.0 if until_idle else self.wait_s
        done = 0
        errors = 0
        while not self._stop.is_set() and (max_jobs is None or done < max_jobs):
            try:
                job = self.run_one(wait_s=wait_s)
            except Exception as exc:  # a database (or server) outage: keep trying, slower
                if until_idle or self.claims.gives_up(exc):
                    raise  # ... but when the server refused this worker, retrying will not help
                errors += 1
                wait = min(self.poll_s * 2**errors, 30.0)
                log.exception("claiming a job failed; retrying in %.1f s", wait)
                self._stop.wait(wait)
                continue
            errors = 0
            if job is not None:
                done += 1
                continue
            if until_idle:
                break
            if not self.claims.claim_waits or wait_s == 0:  # else the claim itself waited
                self._stop.wait(self.poll_s)
        return done

    def run_one(self, wait_s: float = 0.0) -> Job | None:
        """Claim one due job and run it; None if there was none.

        Against a server the claim waits up to ``wait_s`` for a job to fall due; embedded it
        does not wait.
        """
        kinds = self.claim_kinds()
        self.claims.before_claim(self.lease_s)
        row = self.ctx.store.claim_job(
            self.queues, self.worker_id, self._lease_ms, kinds, wait_s=wait_s
        )
        if row is None:
            return None
        job = Job.from_row(row)
        log.info(
            "job %s (%s) attempt %s/%s claimed", job.id, job.kind, job.attempts, job.max_attempts
        )
        lost = threading.Event()
        stop_beat = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat,
            args=(job.id, stop_beat, lost),
            daemon=True,
            name=f"mainsail-job-{job.id}-heartbeat",
        )
        beat.start()
        try:
            self._process(job, lost)
        finally:
            stop_beat.set()
            beat.join(timeout=5)
        self.processed += 1
        return job

    @property
    def _lease_ms(self) -> int:
        return max(1, int(self.lease_s * 1000))

    def _heartbeat(self, job_id: int, stop: threading.Event, lost: threading.Event) -> None:
        interval = max(self.lease_s / 3, 0.05)
        while not stop.wait(interval):
            try:
                if not self.ctx.store.heartbeat_job(job_id, self.worker_id, self._lease_ms):
                    log.warning(
                        "job %s: lease lost (reaped after a stall); result will be dropped", job_id
                    )
                    lost.set()
                    return
            except Exception:  # noqa: BLE001 - keep beating; the next one may get through
                log.exception("job %s: heartbeat failed", job_id)

    def _process(self, job: Job, lost: threading.Event) -> None:
        store = self.ctx.store
        try:
            handler = resolve_handler(job.kind, self.handlers)
            result = handler(self.ctx, dict(job.payload), job)
            result = orjson.loads(orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY))
        except Exception as exc:  # noqa: BLE001 - a handler's failure is recorded
            retry = not isinstance(exc, (UnknownJobKindError, InvalidValueError))
            retry = retry and getattr(exc, "retryable", True)
            if isinstance(exc, MainsailError):
                error = f"{exc.headline}: {exc.message}"
            else:
                error = "".join(traceback.format_exception(exc, limit=15)).strip()
            delay = self.retry_delay_s * 2 ** max(job.attempts - 1, 0)
            status = store.fail_job(
                job.id, self.worker_id, error, int(min(delay, 300.0) * 1000), retry=retry
            )
            log.warning(
                "job %s attempt %s failed (%s): %s",
                job.id,
                job.attempts,
                status,
                error.splitlines()[-1],
            )
            return
        if lost.is_set() or not store.complete_job(job.id, self.worker_id, result):
            log.warning("job %s finished after its lease was lost; result dropped", job.id)
            return
        log.info("job %s done", job.id)


def run_worker(
    ctx: Context,
    queues: Sequence[str] = ("default",),
    *,
    max_jobs: int | None = None,
    until_idle: bool = False,
    **options: Any,
) -> int:
    """Run a worker in this process; returns how many jobs it processed."""
    return Worker(ctx, queues, **options).run(max_jobs=max_jobs, until_idle=until_idle)
