"""The job queue over a Mainsail server's API, for a worker on another host."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mainsail.core import _errors
from mainsail.store._rest_client import RestClient


class RestJobMixin:
    """The worker's side of the job queue over HTTP; mixed into :class:`RestStore`."""

    client: RestClient

    # -- the job queue, for a worker on another host (mainsail.jobs.Worker) ----------------
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
