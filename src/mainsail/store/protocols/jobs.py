"""The job queue: what a worker needs (claim, heartbeat, complete, fail) and the rest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class JobClaimStore(Protocol):
    """What a worker needs; a remote worker claims through the server's routes."""

    def claim_job(
        self,
        queues: Sequence[str],
        worker_id: str,
        lease_ms: int,
        kinds: Sequence[str] | None = None,
        wait_s: float = 0.0,
    ) -> dict[str, Any] | None:
        """Claim a due job; a server may wait up to ``wait_s`` for one (the SQL store does
        not wait: its worker polls)."""
        ...

    def heartbeat_job(self, job_id: int, worker_id: str, lease_ms: int) -> bool: ...
    def complete_job(self, job_id: int, worker_id: str, result: Any) -> bool: ...
    def fail_job(
        self, job_id: int, worker_id: str, error: str, retry_delay_ms: int, retry: bool = True
    ) -> str | None: ...


@runtime_checkable
class JobStore(Protocol):
    def enqueue_job(
        self,
        queue: str,
        kind: str,
        payload: Mapping[str, Any],
        dedupe_key: str | None,
        max_attempts: int,
        run_after_ms: int,
    ) -> tuple[int, bool]: ...
    def get_job_row(self, job_id: int) -> dict[str, Any] | None: ...
    def list_job_rows(
        self,
        status: str | None = None,
        queue: str | None = None,
        kind: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]: ...


@runtime_checkable
class JobQueueAdmin(Protocol):
    """Next to the database only: the reaper and the scheduler's look-ahead."""

    def next_job_due(
        self, queues: Sequence[str], kinds: Sequence[str] | None = None
    ) -> int | None: ...
    def reap_stale_jobs(self, now: int | None = None) -> list[dict[str, Any]]: ...
