"""The job queue over a Mainsail server's API: enqueue and read jobs, and a worker's side
(claim, heartbeat, complete, fail) for a worker on another host."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mainsail.core import _errors
from mainsail.store._rest_client import RestClient
from mainsail.store.protocols.jobs import JOB_STATUSES

_MAX_ID = 2**63


class RestJobMixin:
    """The job queue over HTTP; mixed into :class:`RestStore`."""

    client: RestClient

    # -- enqueue and read ------------------------------------------------------------------
    def enqueue_job(
        self,
        queue: str,
        kind: str,
        payload: Mapping[str, Any],
        dedupe_key: str | None,
        max_attempts: int,
        run_after_ms: int | None = None,
    ) -> tuple[int, bool]:
        """Queue a job; the server answers 201 for a new job, 200 for the live one with
        ``dedupe_key``."""
        body = {
            "kind": kind,
            "payload": dict(payload),
            "queue": queue,
            "dedupe_key": dedupe_key,
            "max_attempts": int(max_attempts),
            "run_after_ms": run_after_ms,
        }
        resp = self.client.request("POST", "/jobs", json=body)
        return int(resp.json()["id"]), resp.status_code == 201

    def get_job_row(self, job_id: int) -> dict[str, Any] | None:
        if isinstance(job_id, bool) or not isinstance(job_id, int) or not 1 <= job_id < _MAX_ID:
            return None  # no such id can exist (the route would refuse it as malformed)
        try:
            return dict(self.client.json("GET", f"/jobs/{job_id}"))
        except _errors.JobNotFoundError:
            return None

    def list_job_rows(
        self,
        status: str | None = None,
        queue: str | None = None,
        kind: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        if status is not None and status not in JOB_STATUSES:
            raise _errors.InvalidValueError(
                f"Job status must be one of {', '.join(JOB_STATUSES)}. Got {status!r}."
            )
        params = {"status": status, "queue": queue, "kind": kind, "limit": int(limit)}
        data = self.client.json(
            "GET", "/jobs", params={k: v for k, v in params.items() if v is not None}
        )
        return [dict(r) for r in data]

    # -- a worker on another host (mainsail.jobs.Worker) ----------------------------------
    def claim_job(
        self,
        queues: Sequence[str],
        worker_id: str,
        lease_ms: int,
        kinds: Sequence[str] | None = None,
        wait_s: float = 0.0,
    ) -> dict[str, Any] | None:
        """Claim a due job of ``kinds``; the server waits up to ``wait_s`` for one (or None)."""
        if kinds is None:
            raise _errors.InvalidValueError(
                "A worker claiming through the server names the job kinds it runs "
                "(kinds=[...]); got none. mainsail.jobs.Worker does this for you."
            )
        body = {
            "queues": list(queues),
            "kinds": list(kinds),
            "worker_id": worker_id,
            "lease_ms": int(lease_ms),
            "wait_s": float(wait_s),
        }
        data = self.client.json("POST", "/jobs/claim", json=body)
        return dict(data) if data is not None else None

    def heartbeat_job(self, job_id: int, worker_id: str, lease_ms: int) -> bool:
        body = {"worker_id": worker_id, "lease_ms": int(lease_ms)}
        return bool(self.client.json("POST", f"/jobs/{int(job_id)}/heartbeat", json=body)["held"])

    def complete_job(self, job_id: int, worker_id: str, result: Any) -> bool:
        body = {"worker_id": worker_id, "result": result}
        return bool(self.client.json("POST", f"/jobs/{int(job_id)}/complete", json=body)["held"])

    def fail_job(
        self, job_id: int, worker_id: str, error: str, retry_delay_ms: int, retry: bool = True
    ) -> str | None:
        body = {
            "worker_id": worker_id,
            "error": error[-100_000:] or "(no message)",  # the newest lines of a long trace
            "retry_delay_ms": int(retry_delay_ms),
            "retry": retry,
        }
        status = self.client.json("POST", f"/jobs/{int(job_id)}/fail", json=body)["status"]
        return str(status) if status is not None else None
