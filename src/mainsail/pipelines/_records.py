"""What a pipeline run leaves behind: PipelineRun and StepRun, read back from the store."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mainsail.core._errors import PipelineFailedError

if TYPE_CHECKING:
    from mainsail.store._context import Context

PIPELINE_STATUSES = ("running", "succeeded", "failed")
STEP_STATUSES = ("running", "succeeded", "cached", "failed", "skipped")


@dataclass(frozen=True)
class StepRun:
    """One step of one pipeline run.

    ``status`` is succeeded, cached, failed or skipped (running while in flight);
    ``reason`` says why it ran (empty when cached); ``outputs`` maps each output name
    to its artifact digest, ``output_meta`` adds the format and size; ``inputs`` maps
    each argument to ``{"digest", "from"}`` (an artifact) or ``{"value"}`` (a parameter).
    """

    id: int
    pipeline_run_id: str
    step: str
    status: str
    cache_key: str
    reason: list[str]
    outputs: dict[str, str]
    output_meta: dict[str, dict[str, Any]]
    inputs: dict[str, dict[str, Any]]
    cached_from: str | None = None
    error: str | None = None
    started_at: int | None = None
    finished_at: int | None = None

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at) / 1000

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StepRun:
        metas = row["outputs"] or {}
        return cls(
            id=row["id"],
            pipeline_run_id=row["pipeline_run_id"],
            step=row["step"],
            status=row["status"],
            cache_key=row["cache_key"],
            reason=list(row["reason"] or []),
            outputs={k: m["digest"] for k, m in metas.items()},
            output_meta=dict(metas),
            inputs=dict(row["inputs"] or {}),
            cached_from=row["cached_from"],
            error=row["error"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
        )


@dataclass
class PipelineRun:
    """A recorded pipeline run: its tracking Run, steps, parameters and outputs.

    ``outputs`` loads the pipeline function's return values from the artifact store
    on first use; ``output_meta`` holds their digests and formats.

    Examples
    --------
    >>> pr = my_pipeline.run(params={"n": 4})  # doctest: +SKIP
    >>> pr.status, [s.status for s in pr.steps]  # doctest: +SKIP
    ('succeeded', ['succeeded', 'cached'])
    """

    id: str
    pipeline: str
    status: str
    run_id: str | None
    params: dict[str, Any]
    executor: str
    output_meta: dict[str, dict[str, Any]]
    steps: list[StepRun]
    trigger: dict[str, Any] | None = None
    error: str | None = None
    created_at: int | None = None
    finished_at: int | None = None
    _ctx: Context | None = field(default=None, repr=False, compare=False)
    _outputs: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def outputs(self) -> dict[str, Any]:
        if self._outputs is None:
            from mainsail.pipelines._serialize import load_value

            ctx = self._ctx
            if ctx is None:
                raise PipelineFailedError(
                    f"Pipeline run {self.id[:12]} was built without a context, so its outputs "
                    "cannot be read. Load it with get_pipeline_run(ctx, id).",
                    pipeline_run_id=self.id,
                )
            self._outputs = {
                k: (m["value"] if "value" in m else load_value(ctx.artifacts, m))
                for k, m in self.output_meta.items()
            }
        return self._outputs

    def step(self, name: str) -> StepRun:
        for s in self.steps:
            if s.step == name:
                return s
        raise KeyError(
            f"Pipeline run {self.id[:12]} has no step {name!r}. "
            f"Steps: {', '.join(s.step for s in self.steps)}."
        )

    @property
    def duration_s(self) -> float | None:
        if self.created_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.created_at) / 1000

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """Write an HTML report of this run (steps, reasons, inputs, outputs)."""
        from mainsail.pipelines._report import write_html

        return write_html(self, path)

    def raise_for_status(self) -> PipelineRun:
        """Raise :class:`PipelineFailedError` if the run failed; else return it."""
        if self.status == "failed":
            raise PipelineFailedError(
                f"Pipeline run {self.id} of {self.pipeline!r} failed: {self.error}. "
                f"See 'mainsail pipeline show {self.id[:12]}'.",
                pipeline_run_id=self.id,
            )
        return self


def load_pipeline_run(ctx: Context, pipeline_run_id: str) -> PipelineRun:
    row = ctx.store.get_pipeline_run_row(pipeline_run_id)
    steps = [StepRun.from_row(r) for r in ctx.store.step_run_rows(row["id"])]
    return PipelineRun(
        id=row["id"],
        pipeline=row["pipeline"],
        status=row["status"],
        run_id=row["run_id"],
        params=dict(row["params"] or {}),
        executor=row["executor"],
        output_meta=dict(row["outputs"] or {}),
        steps=steps,
        trigger=row["trigger"],
        error=row["error"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        _ctx=ctx,
    )


def get_pipeline_run(ctx: Context, pipeline_run_id: str) -> PipelineRun:
    """A pipeline run by id (or a unique prefix of 6+ characters)."""
    return load_pipeline_run(ctx, pipeline_run_id)


def list_pipeline_runs(
    ctx: Context, pipeline: str | None = None, limit: int = 50, status: str | None = None
) -> list[PipelineRun]:
    """Recent pipeline runs, newest first."""
    return [
        load_pipeline_run(ctx, r["id"])
        for r in ctx.store.list_pipeline_run_rows(pipeline, limit, status)
    ]
