"""Pipelines: typed steps composed into a DAG, cached by code, params and input digests.

Examples
--------
>>> import mainsail
>>> @mainsail.step
... def load(n: int) -> list:
...     return list(range(n))
>>> @mainsail.step
... def total(xs: list) -> int:
...     return sum(xs)
>>> @mainsail.pipeline
... def demo(n: int = 10):
...     return {"total": total(load(n))}
>>> demo.run(params={"n": 4}).outputs  # doctest: +SKIP
{'total': 6}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mainsail.pipelines._executors import (
    EXECUTORS,
    Executor,
    InProcessExecutor,
    StepTask,
    TaskResult,
    register_executor,
)
from mainsail.pipelines._records import (
    PipelineRun,
    StepRun,
    get_pipeline_run,
    list_pipeline_runs,
)
from mainsail.pipelines._runner import resolve_pipeline, run_pipeline
from mainsail.pipelines._step import Pipeline, Ref, Step, pipeline, step

if TYPE_CHECKING:
    from mainsail.pipelines._lineage import LineageNode, RerunExplanation
    from mainsail.store._context import Context


def why_rerun(
    ctx: Context, pipeline_run_id: str, step: str | None = None
) -> list[RerunExplanation]:
    """Why each step (or ``step``) of a pipeline run ran again; see ``mainsail pipeline why-rerun``."""
    from mainsail.pipelines._lineage import why_rerun as _why

    return _why(ctx, pipeline_run_id, step)


def lineage(ctx: Context, digest: str) -> LineageNode | None:
    """The step run that produced an artifact digest, recursively through its inputs."""
    from mainsail.pipelines._lineage import lineage as _lineage

    return _lineage(ctx, digest)


def __getattr__(name: str) -> Any:
    if name in ("LineageNode", "RerunExplanation"):
        from mainsail.pipelines import _lineage

        return getattr(_lineage, name)
    raise AttributeError(f"module 'mainsail.pipelines' has no attribute {name!r}")


__all__ = [
    "EXECUTORS",
    "Executor",
    "InProcessExecutor",
    "LineageNode",
    "Pipeline",
    "PipelineRun",
    "Ref",
    "RerunExplanation",
    "Step",
    "StepRun",
    "StepTask",
    "TaskResult",
    "get_pipeline_run",
    "lineage",
    "list_pipeline_runs",
    "pipeline",
    "register_executor",
    "resolve_pipeline",
    "run_pipeline",
    "step",
    "why_rerun",
]
