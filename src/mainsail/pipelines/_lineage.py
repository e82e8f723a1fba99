"""Why a step ran again, and where an artifact came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mainsail.pipelines._records import load_pipeline_run
from mainsail.pipelines._runner import diff_components

if TYPE_CHECKING:
    from mainsail.store._context import Context


@dataclass(frozen=True)
class RerunExplanation:
    """Why one step of a pipeline run ran (or was reused).

    ``reason`` is what the run recorded; ``changes`` compares the step's cache components
    with the previous run of the same step in the same pipeline (``compared_to``).
    """

    step: str
    status: str
    reason: list[str]
    compared_to: str | None = None
    changes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        if self.status == "cached":
            return [f"cached: reused the outputs of pipeline run {self.compared_to}"]
        if self.status == "skipped":
            return self.reason
        kept = ("cache disabled", "cache entry", "a cached output")
        extra = [r for r in self.reason if r.startswith(kept)]
        if self.changes:
            return extra + self.changes
        return self.reason or ["no recorded reason"]


def why_rerun(
    ctx: Context, pipeline_run_id: str, step: str | None = None
) -> list[RerunExplanation]:
    """Explain each step (or one) of a pipeline run against the pipeline's previous run.

    Examples
    --------
    >>> from mainsail.pipelines import why_rerun
    >>> [e.lines() for e in why_rerun(ctx, "3f2a9c", "train")]  # doctest: +SKIP
    [['param n_estimators changed from 50 to 100']]
    """
    from mainsail.core._errors import InvalidValueError

    pr = load_pipeline_run(ctx, pipeline_run_id)
    steps = pr.steps
    if step is not None:
        steps = [s for s in pr.steps if s.step == step]
        if not steps:
            raise InvalidValueError(
                f"Pipeline run {pr.id[:12]} has no step {step!r}. "
                f"Steps: {', '.join(s.step for s in pr.steps)}."
            )
    out = []
    for sr in steps:
        if sr.status == "cached":
            out.append(RerunExplanation(sr.step, sr.status, sr.reason, (sr.cached_from or "")[:12]))
            continue
        prev = ctx.store.previous_step_run(pr.pipeline, sr.step, sr.id) if sr.cache_key else None
        changes: list[str] = []
        compared = None
        if prev is not None:
            compared = str(prev["pipeline_run_id"])[:12]
            new = ctx.store.get_cache_entry(sr.cache_key)
            old = ctx.store.get_cache_entry(prev["cache_key"])
            if new is not None and old is not None:
                changes = diff_components(old["components"], new["components"])
        out.append(RerunExplanation(sr.step, sr.status, sr.reason, compared, changes))
    return out


@dataclass(frozen=True)
class LineageNode:
    """The step run that produced an artifact, and the lineage of each of its inputs."""

    digest: str
    step: str
    pipeline_run_id: str
    step_run_id: int
    output: str
    inputs: dict[str, Any]  # argument -> LineageNode | {"value": ...} | {"digest": ...}


def lineage(ctx: Context, digest: str, depth: int = 20) -> LineageNode | None:
    """Which step run first produced ``digest``, recursively through its inputs."""
    rows = ctx.store.step_runs_producing(digest)
    rows = [r for r in rows if r["status"] == "succeeded"] or rows
    if not rows:
        return None
    row = rows[0]
    output = next((k for k, m in row["outputs"].items() if m["digest"] == digest), "?")
    inputs: dict[str, Any] = {}
    for name, src in (row["inputs"] or {}).items():
        if "digest" in src and depth > 0:
            inputs[name] = lineage(ctx, src["digest"], depth - 1) or dict(src)
        else:
            inputs[name] = dict(src)
    return LineageNode(digest, row["step"], row["pipeline_run_id"], row["id"], output, inputs)
