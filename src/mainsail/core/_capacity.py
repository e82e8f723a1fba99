"""Capacity curves and prices: what a load test measured, and what serving costs.

A :class:`CapacityCurve` is what ``mainsail loadtest`` stores on a model version (in its
card, under ``capacity``, one curve per worker count): for each load step the throughput,
latency percentiles, errors, and the CPU and memory of every server worker. Release checks,
right-sizing (``mainsail.packaging``), the model card and the monitor read it; the cost
arithmetic over :class:`Prices` lives here so every layer computes it the same way.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mainsail.core._errors import InvalidValueError

CARD_KEY = "capacity"
"""Where a version's card keeps its curves: ``card["capacity"]["workers=N"]``."""


class Prices(BaseModel):
    """What serving costs, per hour (settings ``MAINSAIL_PRICE_*``; defaults documented).

    The defaults are list prices of a managed Kubernetes offering billed per pod resource
    request (about USD 0.0445 per vCPU-hour and 0.0049 per GB-hour), with nothing per replica;
    set your own to match your contract.

    Examples
    --------
    >>> Prices().hourly(vcpu=0.5, memory_gb=1.0, replicas=2)
    0.0543
    """

    model_config = ConfigDict(frozen=True)

    vcpu_hour: float = Field(default=0.0445, ge=0)
    gb_hour: float = Field(default=0.0049, ge=0)
    replica_hour: float = Field(default=0.0, ge=0)
    currency: str = "USD"

    def hourly(self, vcpu: float, memory_gb: float, replicas: int | float = 1) -> float:
        """Cost of ``replicas`` replicas that each reserve ``vcpu`` and ``memory_gb``."""
        per = vcpu * self.vcpu_hour + memory_gb * self.gb_hour + self.replica_hour
        return round(per * replicas, 10)

    @classmethod
    def from_settings(cls, settings: Any) -> Prices:
        return cls(
            vcpu_hour=settings.price_vcpu_hour,
            gb_hour=settings.price_gb_hour,
            replica_hour=settings.price_replica_hour,
            currency=settings.price_currency,
        )


def cost_per_1k(hourly_cost: float, predictions_per_s: float) -> float | None:
    """Cost of 1,000 predictions at ``predictions_per_s`` (None when nothing is served)."""
    if predictions_per_s <= 0:
        return None
    return hourly_cost / (predictions_per_s * 3600.0) * 1000.0


class CapacityPoint(BaseModel):
    """One step of a load test: offered load, what came back, and what the server used."""

    model_config = ConfigDict(extra="ignore")

    concurrency: int
    target_rps: float | None = None
    duration_s: float
    requests: int
    errors: int
    error_rate: float
    rps: float
    rows_per_s: float
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    cpu_percent: list[float] = Field(default_factory=list)  # per server worker
    memory_mb: list[float] = Field(default_factory=list)  # per server worker (RSS)
    generator_cpu_percent: float | None = None
    shortfall: str | None = None  # set when a target rate was not delivered, and why
    error_samples: dict[str, int] = Field(default_factory=dict)

    @property
    def vcpu(self) -> float | None:
        """Cores the server used at this load (all its processes), or None if unmeasured."""
        return sum(self.cpu_percent) / 100.0 if self.cpu_percent else None

    @property
    def memory_gb(self) -> float | None:
        return sum(self.memory_mb) / 1024.0 if self.memory_mb else None


class CapacityCurve(BaseModel):
    """A load test's result: the server it drove and one point per load step."""

    model_config = ConfigDict(extra="ignore")

    target: str
    model: str | None = None
    version: int | None = None
    workers: int | None = None
    rows_per_request: int = 1
    mode: Literal["concurrency", "rate"] = "concurrency"
    generator: str = "locust"
    cpu_count: int | None = None
    created_at: int = 0
    points: list[CapacityPoint] = Field(default_factory=list)

    def best_within(self, p99_ms: float, max_error_rate: float = 0.01) -> CapacityPoint | None:
        """The highest-throughput point whose p99 is within budget and errors are few.

        Points where a target rate was not delivered still count: their throughput and
        latency were measured; they are simply not the rate asked for.
        """
        ok = [
            p
            for p in self.points
            if p.requests > 0
            and p.p99_ms is not None
            and p.p99_ms <= p99_ms
            and p.error_rate <= max_error_rate
        ]
        return max(ok, key=lambda p: p.rps) if ok else None

    def peak(self) -> CapacityPoint | None:
        ok = [p for p in self.points if p.requests > 0]
        return max(ok, key=lambda p: p.rps) if ok else None


def curves_of(card: dict[str, Any] | None) -> list[CapacityCurve]:
    """The capacity curves stored in a version's card, fewest workers first."""
    stored = (card or {}).get(CARD_KEY) or {}
    if not isinstance(stored, dict):
        return []
    out = [CapacityCurve.model_validate(v) for v in stored.values() if isinstance(v, dict)]
    return sorted(out, key=lambda c: c.workers or 0)


def with_curve(card: dict[str, Any] | None, curve: CapacityCurve) -> dict[str, Any]:
    """The card with ``curve`` stored (it replaces an earlier curve of the same workers)."""
    stored = dict((card or {}).get(CARD_KEY) or {})
    stored[f"workers={curve.workers or 0}"] = curve.model_dump(mode="json")
    return {**(card or {}), CARD_KEY: stored}


def parse_levels(text: str, what: str = "--concurrency") -> list[int]:
    """``"1,4,16"`` as ``[1, 4, 16]``; each a positive whole number.

    Examples
    --------
    >>> parse_levels("1, 4,16")
    [1, 4, 16]
    """
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 1 or value != int(value):
            raise InvalidValueError(
                f"{what} takes positive whole numbers separated by commas, e.g. '1,4,16'. "
                f"Got {part!r} in {text!r}."
            )
        out.append(int(value))
    if not out:
        raise InvalidValueError(f"{what} needs at least one level, e.g. '1,4,16'. Got {text!r}.")
    return out


__all__ = [
    "CARD_KEY",
    "CapacityCurve",
    "CapacityPoint",
    "Prices",
    "cost_per_1k",
    "curves_of",
    "parse_levels",
    "with_curve",
]
