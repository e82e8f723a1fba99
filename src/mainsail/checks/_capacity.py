"""Release check ``capacity``: the stored capacity curve reaches a throughput within a p99 budget.

Policy section::

    capacity: {p99_ms: 50, min_rps: 500}          # requests/s at p99 <= 50 ms
    capacity: {p99_ms: 50, min_rows_per_s: 20000, workers: 2, max_error_rate: 0.001}

It reads the curves ``mainsail loadtest`` stored on the version (``card["capacity"]``) and
runs no load itself: a release gate stays fast and the figure is the one measured on the
serving machine. Without a stored curve (or one for the given worker count) it fails, and
says which command records one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mainsail.checks._types import CheckContext, CheckOutcome
from mainsail.core._capacity import CapacityCurve, CapacityPoint, curves_of


class CapacityPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    p99_ms: float = Field(gt=0)
    min_rps: float | None = Field(default=None, gt=0)
    min_rows_per_s: float | None = Field(default=None, gt=0)
    max_error_rate: float = Field(default=0.01, ge=0, le=1)
    workers: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_floor(self) -> CapacityPolicy:
        if self.min_rps is None and self.min_rows_per_s is None:
            raise ValueError(
                "give min_rps (requests/s) or min_rows_per_s, e.g. {p99_ms: 50, min_rps: 500}"
            )
        return self


class CapacityCheck:
    """The best stored throughput whose p99 is within budget meets the floor."""

    name = "capacity"
    config_model = CapacityPolicy
    order = 95

    def __init__(self, config: CapacityPolicy) -> None:
        self.config = config

    def run(self, context: CheckContext) -> list[CheckOutcome]:
        cfg = self.config
        v = context.version
        rows = cfg.min_rows_per_s is not None and cfg.min_rps is None
        floor = float(cfg.min_rows_per_s if rows else cfg.min_rps)  # type: ignore[arg-type]
        unit = "rows/s" if rows else "requests/s"
        curves = curves_of(v.card)
        if cfg.workers is not None:
            curves = [c for c in curves if c.workers == cfg.workers]
        if not curves:
            which = f" for {cfg.workers} worker(s)" if cfg.workers else ""
            return [
                CheckOutcome(
                    name="capacity",
                    kind="capacity",
                    status="fail",
                    threshold=floor,
                    detail=f"no capacity curve is stored on {v.address}{which}: record one with "
                    f"'mainsail loadtest {v.address}"
                    + (f" --workers {cfg.workers}" if cfg.workers else "")
                    + "' on the serving machine",
                )
            ]
        best: tuple[CapacityCurve, CapacityPoint] | None = None
        for c in curves:
            p = c.best_within(cfg.p99_ms, cfg.max_error_rate)
            if p is not None and (best is None or _value(p, rows) > _value(best[1], rows)):
                best = (c, p)
        data = {"curves": [c.workers for c in curves], "p99_ms": cfg.p99_ms}
        if best is None:
            low = min(
                (p.p99_ms for c in curves for p in c.points if p.p99_ms is not None),
                default=None,
            )
            return [
                CheckOutcome(
                    name="capacity",
                    kind="capacity",
                    status="fail",
                    value=0.0,
                    threshold=floor,
                    detail=f"no load step kept p99 within {cfg.p99_ms:g} ms with at most "
                    f"{cfg.max_error_rate:.1%} errors (lowest p99 measured: "
                    + (f"{low:.1f} ms)" if low is not None else "none)"),
                    data=data,
                )
            ]
        curve, point = best
        value = _value(point, rows)
        ok = value >= floor
        return [
            CheckOutcome(
                name="capacity",
                kind="capacity",
                status="pass" if ok else "fail",
                value=round(value, 3),
                threshold=floor,
                detail=f"{value:.0f} {unit} at p99 {point.p99_ms:.1f} ms (budget {cfg.p99_ms:g} ms) "
                f"with {curve.workers or '?'} worker(s), concurrency {point.concurrency}; "
                f"{'meets' if ok else 'below'} the floor of {floor:g} {unit}",
                data={**data, "workers": curve.workers, "point": point.model_dump(mode="json")},
            )
        ]


def _value(p: CapacityPoint, rows: bool) -> float:
    return p.rows_per_s if rows else p.rps


__all__ = ["CapacityCheck", "CapacityPolicy"]
