"""Pipeline runs, step runs and the step cache over a Mainsail server's API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mainsail.store._rest_client import RestClient, seg


class RestPipelineMixin:
    """The pipeline protocol over HTTP; mixed into :class:`RestStore`."""

    client: RestClient

    # -- pipeline runs, step runs and the step cache ---------------------------------------
    def create_pipeline_run(
        self,
        pipeline_run_id: str,
        pipeline: str,
        run_id: str | None,
        params: Mapping[str, Any],
        executor: str,
        trigger: Mapping[str, Any] | None = None,
    ) -> None:
        body = {
            "id": pipeline_run_id,
            "pipeline": pipeline,
            "run_id": run_id,
            "params": dict(params),
            "executor": executor,
            "trigger": dict(trigger) if trigger is not None else None,
        }
        self.client.json("POST", "/pipeline-runs", json=body)

    def finish_pipeline_run(
        self,
        pipeline_run_id: str,
        status: str,
        outputs: Mapping[str, Any],
        error: str | None = None,
    ) -> None:
        body = {"status": status, "outputs": dict(outputs), "error": error}
        self.client.json("POST", f"/pipeline-runs/{seg(pipeline_run_id)}/finish", json=body)

    def get_pipeline_run_row(self, pipeline_run_id: str) -> dict[str, Any]:
        """A pipeline run by id, or by a unique prefix of at least 6 characters."""
        return _pipeline_row(self.client.json("GET", f"/pipeline-runs/{seg(pipeline_run_id)}"))

    def list_pipeline_run_rows(
        self, pipeline: str | None = None, limit: int = 50, status: str | None = None
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": int(limit)}
        if pipeline is not None:
            params["pipeline"] = pipeline
        if status is not None:
            params["status"] = status
        return [_pipeline_row(r) for r in self.client.json("GET", "/pipeline-runs", params=params)]

    def add_step_run(self, **fields: Any) -> int:
        body = dict(fields)
        prid = str(body.pop("pipeline_run_id"))
        data = self.client.json("POST", f"/pipeline-runs/{seg(prid)}/step-runs", json=body)
        return int(data["id"])

    def update_step_run(self, step_run_id: int, **fields: Any) -> None:
        self.client.json("PATCH", f"/step-runs/{int(step_run_id)}", json=fields)

    def step_run_rows(self, pipeline_run_id: str) -> list[dict[str, Any]]:
        return list(self.client.json("GET", f"/pipeline-runs/{seg(pipeline_run_id)}/step-runs"))

    def step_runs_producing(self, digest: str) -> list[dict[str, Any]]:
        """Step runs that wrote (or reused) an output with this digest, oldest first."""
        return list(self.client.json("GET", "/step-runs", params={"produced": digest}))

    def previous_step_run(self, pipeline: str, step: str, before_id: int) -> dict[str, Any] | None:
        params = {"pipeline": pipeline, "step": step, "before": int(before_id)}
        data = self.client.json("GET", "/step-runs/previous", params=params)
        return dict(data) if data is not None else None

    def get_cache_entry(self, cache_key: str) -> dict[str, Any] | None:
        data = self.client.json("GET", f"/step-cache/{seg(cache_key)}")
        return dict(data) if data is not None else None

    def latest_cache_entry(self, step: str) -> dict[str, Any] | None:
        data = self.client.json("GET", "/step-cache/latest", params={"step": step})
        return dict(data) if data is not None else None

    def begin_cache_entry(
        self,
        cache_key: str,
        step: str,
        components: Mapping[str, Any],
        pipeline_run_id: str,
        replace_committed: bool = False,
    ) -> bool:
        """Claim ``cache_key``; the server decides atomically (see the SQL store)."""
        body = {
            "step": step,
            "components": dict(components),
            "pipeline_run_id": pipeline_run_id,
            "replace_committed": replace_committed,
        }
        data = self.client.json("POST", f"/step-cache/{seg(cache_key)}/claim", json=body)
        return bool(data["claimed"])

    def commit_cache_entry(self, cache_key: str, outputs: Mapping[str, Any]) -> None:
        body = {"outputs": dict(outputs)}
        self.client.json("POST", f"/step-cache/{seg(cache_key)}/commit", json=body)

    def release_cache_entry(self, cache_key: str, pipeline_run_id: str) -> bool:
        body = {"pipeline_run_id": pipeline_run_id}
        data = self.client.json("POST", f"/step-cache/{seg(cache_key)}/release", json=body)
        return bool(data["released"])

    def invalidate_cache_entry(self, cache_key: str) -> None:
        self.client.json("POST", f"/step-cache/{seg(cache_key)}/invalidate")


def _pipeline_row(data: dict[str, Any]) -> dict[str, Any]:
    """A pipeline run from the API as the SQL store's row (``outputs``, no steps)."""
    row = {k: v for k, v in data.items() if k not in ("steps", "output_meta")}
    row["outputs"] = data.get("output_meta") or {}
    return row
