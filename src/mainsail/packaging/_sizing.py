"""Right-sizing: workers, replicas, resource requests and the HPA target from a capacity curve.

The arithmetic, for a stated traffic ``T`` (requests/s) and p99 budget ``B`` (ms), over each
stored curve (one per worker count ``w``):

1. ``cap`` = the highest throughput of a load step whose p99 <= ``B`` and error rate <= 1 %
   (:meth:`CapacityCurve.best_within`): what one replica with ``w`` workers carries.
2. CPU request = the cores the server used at that step (its workers' CPU, summed), rounded
   up to 50 millicores; memory request = the largest total RSS seen in any step plus 25 %,
   rounded up to 64 MiB. A replica at its CPU request is a replica at ``cap``.
3. The HPA targets ``U`` = 70 % of the CPU request (``target_utilization``), so a replica
   runs at about ``U * cap`` and keeps headroom for the time the autoscaler takes.
4. Replicas for ``T``: ``n = ceil(T / (U * cap))``; min replicas ``max(n, 2)`` (two for
   availability, ``min_replicas``); max replicas ``max(min + 1, ceil(2 T / (U * cap)))`` (room
   for traffic to double).
5. Cost per hour = min replicas x (CPU request x vCPU price + memory x GB price + replica
   price); cost per 1,000 predictions = cost per hour / (``T`` x rows per request x 3600) x
   1000.

The worker count whose curve gives the lowest cost per hour wins (fewer workers on a tie).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from mainsail.core._capacity import (
    CapacityCurve,
    CapacityPoint,
    Prices,
    cost_per_1k,
    curves_of,
)
from mainsail.core._errors import InvalidValueError
from mainsail.core._registry_schemas import ModelVersion

if TYPE_CHECKING:
    from mainsail.store._context import Context

MAX_ERROR_RATE = 0.01


class Option(BaseModel):
    """Sizing with one worker count: what it takes and costs, or why it cannot meet the budget."""

    workers: int
    capacity_rps: float | None = None
    replicas: int | None = None
    cost_per_hour: float | None = None
    reason: str | None = None


class Recommendation(BaseModel):
    """Workers, replicas, resource requests and HPA target for a traffic and a p99 budget."""

    model: str | None
    version: int | None
    traffic_rps: float
    p99_ms: float
    workers: int
    capacity_rps: float = Field(description="requests/s one replica carries within the budget")
    point: CapacityPoint
    target_utilization: float
    hpa_cpu_target: int = Field(description="percent of the CPU request")
    replicas: int
    min_replicas: int
    max_replicas: int
    cpu_request: str
    cpu_request_vcpu: float
    memory_request: str
    memory_request_gb: float
    cost_per_hour: float
    cost_per_1k: float | None
    currency: str
    options: list[Option] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def summary(self) -> str:
        c1k = f"{self.cost_per_1k:.4g}" if self.cost_per_1k is not None else "-"
        return (
            f"{self.min_replicas} replica(s) of {self.workers} worker(s) (HPA {self.min_replicas}"
            f"-{self.max_replicas} at {self.hpa_cpu_target}% CPU; request {self.cpu_request} CPU, "
            f"{self.memory_request}) carry {self.traffic_rps:g} requests/s within p99 "
            f"{self.p99_ms:g} ms: one replica carries {self.capacity_rps:.0f}/s at p99 "
            f"{self.point.p99_ms:.1f} ms. Cost {self.cost_per_hour:.4g} {self.currency}/hour, "
            f"{c1k} {self.currency} per 1,000 predictions."
        )


def _millicores(vcpu: float) -> int:
    return max(100, math.ceil(vcpu * 1000 / 50) * 50)


def _mebibytes(mb: float) -> int:
    return max(128, math.ceil(mb * 1.25 / 64) * 64)


def recommend(
    curves: list[CapacityCurve] | ModelVersion,
    traffic_rps: float,
    p99_ms: float,
    prices: Prices | None = None,
    target_utilization: float = 0.7,
    min_replicas: int = 2,
) -> Recommendation:
    """Size a deployment for ``traffic_rps`` within ``p99_ms`` from stored capacity curves.

    Examples
    --------
    >>> rec = recommend(mainsail.get_model_version("models:/churn@champion"), 500, 50)  # doctest: +SKIP
    >>> rec.min_replicas, rec.hpa_cpu_target, rec.cpu_request  # doctest: +SKIP
    (2, 70, '850m')
    """
    prices = prices or Prices()
    model = version = None
    if isinstance(curves, ModelVersion):
        model, version = curves.name, curves.version
        where = curves.address
        curves = curves_of(curves.card)
    else:
        where = "the given curves"
    if not curves:
        raise InvalidValueError(
            f"No capacity curve is stored on {where}: right-sizing needs one. Record it with "
            f"'mainsail loadtest {where if model else 'models:/NAME/N'}' on a machine like the "
            "serving nodes."
        )
    if not math.isfinite(traffic_rps) or traffic_rps <= 0:
        raise InvalidValueError(
            f"The traffic to size for must be positive requests/s. Got {traffic_rps!r}."
        )
    if not math.isfinite(p99_ms) or p99_ms <= 0:
        raise InvalidValueError(f"The p99 budget must be positive milliseconds. Got {p99_ms!r}.")
    if not 0.1 <= target_utilization <= 0.95:
        raise InvalidValueError(
            f"The HPA target utilisation must be between 0.1 and 0.95. Got {target_utilization!r}."
        )
    if min_replicas < 1:
        raise InvalidValueError(f"Min replicas must be 1 or more. Got {min_replicas}.")

    best: Recommendation | None = None
    options: list[Option] = []
    for curve in curves:
        workers = curve.workers or 1
        point = curve.best_within(p99_ms, MAX_ERROR_RATE)
        if point is None:
            low = min((p.p99_ms for p in curve.points if p.p99_ms is not None), default=None)
            options.append(
                Option(
                    workers=workers,
                    reason=f"no step kept p99 within {p99_ms:g} ms"
                    + (f" (lowest {low:.1f} ms)" if low is not None else ""),
                )
            )
            continue
        notes = []
        vcpu = point.vcpu
        if vcpu is None or vcpu <= 0:
            vcpu = float(workers)
            notes.append(
                f"CPU was not measured (a URL target): assumed one core per worker ({workers})"
            )
        mem_mb = max((sum(p.memory_mb) for p in curve.points if p.memory_mb), default=0.0)
        if mem_mb <= 0:
            mem_mb = 512.0 * workers
            notes.append("memory was not measured: assumed 512 MB per worker")
        milli, mib = _millicores(vcpu), _mebibytes(mem_mb)
        per_replica = target_utilization * point.rps
        needed = max(1, math.ceil(traffic_rps / per_replica))
        low_n = max(needed, min_replicas)
        high_n = max(low_n + 1, math.ceil(2 * traffic_rps / per_replica))
        hourly = prices.hourly(milli / 1000, mib / 1024, low_n)
        rec = Recommendation(
            model=model if model is not None else curve.model,
            version=version if version is not None else curve.version,
            traffic_rps=traffic_rps,
            p99_ms=p99_ms,
            workers=workers,
            capacity_rps=point.rps,
            point=point,
            target_utilization=target_utilization,
            hpa_cpu_target=round(target_utilization * 100),
            replicas=needed,
            min_replicas=low_n,
            max_replicas=high_n,
            cpu_request=f"{milli}m",
            cpu_request_vcpu=milli / 1000,
            memory_request=f"{mib}Mi",
            memory_request_gb=mib / 1024,
            cost_per_hour=hourly,
            cost_per_1k=cost_per_1k(hourly, traffic_rps * curve.rows_per_request),
            currency=prices.currency,
            notes=notes,
        )
        options.append(
            Option(workers=workers, capacity_rps=point.rps, replicas=low_n, cost_per_hour=hourly)
        )
        if best is None or (rec.cost_per_hour, rec.workers) < (best.cost_per_hour, best.workers):
            best = rec
    if best is None:
        why = "; ".join(f"{o.workers} worker(s): {o.reason}" for o in options)
        raise InvalidValueError(
            f"No stored capacity curve of {where} meets a p99 of {p99_ms:g} ms ({why}). Relax "
            "the budget, send fewer rows per request, or make the model faster."
        )
    return best.model_copy(update={"options": options})


def recommend_sizing(
    ctx: Context,
    model: str | ModelVersion,
    traffic_rps: float,
    p99_ms: float,
    target_utilization: float = 0.7,
    min_replicas: int = 2,
) -> Recommendation:
    """:func:`recommend` for a model version's stored curves, at the context's prices
    (``MAINSAIL_PRICE_*``).

    Examples
    --------
    >>> import mainsail
    >>> mainsail.recommend_sizing("models:/churn@champion", 800, 50).summary()  # doctest: +SKIP
    '3 replica(s) of 1 worker(s) (HPA 3-5 at 70% CPU; request 1000m CPU, 448Mi) carry ...'
    """
    from mainsail.registry._versions import resolve_version

    version = resolve_version(ctx, model)
    return recommend(
        version,
        traffic_rps,
        p99_ms,
        Prices.from_settings(ctx.settings),
        target_utilization=target_utilization,
        min_replicas=min_replicas,
    )


__all__ = ["Option", "Recommendation", "recommend", "recommend_sizing"]
