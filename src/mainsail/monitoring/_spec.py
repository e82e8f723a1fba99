"""What a monitor is: its spec, the stored monitor, and one evaluation's result."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator

from mainsail.core._durations import parse_duration
from mainsail.monitoring._alerts import Alert, AlertRule
from mainsail.monitoring._attribution import AttributionReport
from mainsail.monitoring._drift import DriftReport
from mainsail.monitoring._operational import OperationalReport
from mainsail.monitoring._performance import PerformanceReport
from mainsail.monitoring._quality import QualityReport

CHECKS = ("drift", "quality", "performance", "operational", "attribution")
#: What a monitor checks unless told otherwise (attribution drift explains rows: opt-in).
DEFAULT_CHECKS = ("drift", "quality", "performance", "operational")
Status = Literal["ok", "warning", "failed", "no_data"]


class MonitorSpec(BaseModel):
    """What a monitor checks, over which window, how often, and whom it tells.

    ``max_drift_share`` is the threshold: the dataset has drifted when the share of drifted
    features (``DriftReport.share_drifted``, observed) reaches it. Specs stored under the
    old key ``drift_share`` still load.
    """

    endpoint: str
    name: str = "default"
    checks: list[str] = Field(default_factory=lambda: list(DEFAULT_CHECKS))
    window: str = "1h"
    interval: str = "5m"
    rules: list[AlertRule] | None = None
    notifiers: list[str | dict[str, Any]] = Field(default_factory=lambda: ["log"])  # type: ignore[arg-type]
    model: str | None = None
    max_drift_share: float = Field(
        default=0.5, validation_alias=AliasChoices("max_drift_share", "drift_share")
    )
    stattest: str | None = None
    tests: dict[str, str] = Field(default_factory=dict)
    columns: list[str] | None = None
    enabled: bool = True

    @field_validator("checks")
    @classmethod
    def _checks(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if c not in CHECKS]
        if bad or not v:
            raise ValueError(f"checks must be a non-empty subset of {', '.join(CHECKS)}; got {v}")
        return v

    @field_validator("window", "interval")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v


class Monitor(BaseModel):
    """A stored monitor: its spec and its schedule."""

    id: int
    endpoint: str
    name: str
    spec: MonitorSpec
    enabled: bool
    interval_s: int
    last_run_at: int | None = None
    next_run_at: int | None = None
    created_at: int
    updated_at: int


class MonitorResult(BaseModel):
    """One evaluation: status, flat scores (a time series point) and the detailed reports."""

    id: int | None = None
    monitor_id: int
    endpoint: str
    name: str
    ts: int
    window_start: int
    window_end: int
    model_version: str | None = None
    status: Status
    scores: dict[str, float] = Field(default_factory=dict)
    drift: DriftReport | None = None
    quality: QualityReport | None = None
    performance: PerformanceReport | None = None
    operational: OperationalReport | None = None
    attribution: AttributionReport | None = None
    alerts: list[Alert] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def summary(self) -> str:
        lines = [
            f"Monitor {self.endpoint}/{self.name}: {self.status.upper()} (model version "
            f"{self.model_version or '-'}, source: {self.source or '-'})"
        ]
        for part in (
            self.drift,
            self.quality,
            self.performance,
            self.operational,
            self.attribution,
        ):
            if part is not None:
                lines.append(part.summary())
        for a in self.alerts:
            lines.append(f"alert {a.describe()}")
        lines.extend(f"error: {e}" for e in self.errors)
        return "\n".join(lines)


class ScorePoint(BaseModel):
    """One point of a monitor's time series: a stored result's status and flat scores."""

    ts: int
    status: Status
    model_version: str | None = None
    scores: dict[str, float] = Field(default_factory=dict)


__all__ = [
    "CHECKS",
    "DEFAULT_CHECKS",
    "Monitor",
    "MonitorResult",
    "MonitorSpec",
    "ScorePoint",
    "Status",
]
