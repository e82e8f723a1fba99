"""Pipeline runs, their step runs and the step cache (claims are atomic)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class PipelineStore(Protocol):
    def create_pipeline_run(
        self,
        pipeline_run_id: str,
        pipeline: str,
        run_id: str | None,
        params: Mapping[str, Any],
        executor: str,
        trigger: Mapping[str, Any] | None = None,
    ) -> None: ...
    def finish_pipeline_run(
        self,
        pipeline_run_id: str,
        status: str,
        outputs: Mapping[str, Any],
        error: str | None = None,
    ) -> None: ...
    def get_pipeline_run_row(self, pipeline_run_id: str) -> dict[str, Any]: ...
    def list_pipeline_run_rows(
        self, pipeline: str | None = None, limit: int = 50, status: str | None = None
    ) -> list[dict[str, Any]]: ...
    def add_step_run(self, **fields: Any) -> int: ...
    def update_step_run(self, step_run_id: int, **fields: Any) -> None: ...
    def step_run_rows(self, pipeline_run_id: str) -> list[dict[str, Any]]: ...
    def step_runs_producing(self, digest: str) -> list[dict[str, Any]]: ...
    def previous_step_run(
        self, pipeline: str, step: str, before_id: int
    ) -> dict[str, Any] | None: ...
    def get_cache_entry(self, cache_key: str) -> dict[str, Any] | None: ...
    def latest_cache_entry(self, step: str) -> dict[str, Any] | None: ...
    def begin_cache_entry(
        self,
        cache_key: str,
        step: str,
        components: Mapping[str, Any],
        pipeline_run_id: str,
        replace_committed: bool = False,
    ) -> bool: ...
    def commit_cache_entry(self, cache_key: str, outputs: Mapping[str, Any]) -> None: ...
    def release_cache_entry(self, cache_key: str, pipeline_run_id: str) -> bool: ...
    def invalidate_cache_entry(self, cache_key: str) -> None: ...
