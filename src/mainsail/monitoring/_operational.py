"""Operational figures over a window: latency quantiles, throughput, errors, CPU, memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from mainsail.core._capacity import Prices, cost_per_1k
from mainsail.monitoring._sources import WindowSketch, latency_quantiles


class OperationalReport(BaseModel):
    requests: int
    rows: int
    errors: int
    error_rate: float | None
    throughput_rps: float
    latency_ms: dict[str, float | None]
    replicas: int
    cpu_percent: dict[str, float] = Field(default_factory=dict)
    memory_rss_mb: dict[str, float] = Field(default_factory=dict)
    source: str
    idle: bool = False  # no request in the window: the endpoint is deployed, nobody calls it
    cost_per_hour: float | None = None  # the replicas' live CPU and memory at the prices
    cost_per_1k: float | None = None  # cost_per_hour over the predictions served
    currency: str | None = None

    def scores(self) -> dict[str, float]:
        out = {
            "operational.requests": float(self.requests),
            "operational.rows": float(self.rows),
            "operational.errors": float(self.errors),
            "operational.throughput_rps": self.throughput_rps,
            "operational.replicas": float(self.replicas),
        }
        if self.error_rate is not None:
            out["operational.error_rate"] = self.error_rate
        for q, v in self.latency_ms.items():
            if v is not None:
                out[f"operational.latency_{q}_ms"] = v
        if self.cpu_percent:
            out["operational.cpu_percent_max"] = max(self.cpu_percent.values())
        if self.memory_rss_mb:
            out["operational.memory_rss_mb_max"] = max(self.memory_rss_mb.values())
        out["operational.idle"] = float(self.idle)
        if self.cost_per_hour is not None:
            out["operational.cost_per_hour"] = self.cost_per_hour
        if self.cost_per_1k is not None:
            out["operational.cost_per_1k"] = self.cost_per_1k
        return out

    def summary(self) -> str:
        lat = ", ".join(f"{k}={v:.3g} ms" for k, v in self.latency_ms.items() if v is not None)
        err = f"{self.error_rate:.2%}" if self.error_rate is not None else "-"
        cost = ""
        if self.cost_per_1k is not None:
            cost = f", {self.cost_per_1k:.3g} {self.currency} per 1,000 predictions"
        elif self.cost_per_hour is not None:
            cost = f", {self.cost_per_hour:.3g} {self.currency}/hour"
        idle = "; IDLE: no request in the window" if self.idle else ""
        return (
            f"Operational: {self.requests} requests ({self.throughput_rps:.3g}/s), "
            f"error rate {err}, latency {lat or '-'}, {self.replicas} replica(s){cost}{idle}"
        )


def with_cost(report: OperationalReport, prices: Prices, window_s: float) -> OperationalReport:
    """The report with its cost from live figures, and the idle flag.

    Cost per hour = the replicas' CPU in use (cores) x the vCPU price + their resident memory
    (GB) x the GB price + replicas x the replica price; cost per 1,000 predictions = that over
    the rows served per hour in the window. Without CPU/memory figures (the prediction-log
    source) there is no cost; an endpoint that served no request is idle.
    """
    hourly = None
    if report.cpu_percent or report.memory_rss_mb:
        vcpu = sum(report.cpu_percent.values()) / 100.0
        gb = sum(report.memory_rss_mb.values()) / 1024.0
        replicas = max(report.replicas, len(report.cpu_percent), len(report.memory_rss_mb))
        hourly = prices.vcpu_hour * vcpu + prices.gb_hour * gb + prices.replica_hour * replicas
    rows_per_s = report.rows / window_s if window_s else 0.0
    return report.model_copy(
        update={
            "idle": report.requests == 0 and report.errors == 0,
            "cost_per_hour": hourly,
            "cost_per_1k": cost_per_1k(hourly, rows_per_s) if hourly is not None else None,
            "currency": prices.currency,
        }
    )


def _qs(values: dict[str, float | None] | list[float | None]) -> dict[str, float | None]:
    vals = list(values.values()) if isinstance(values, dict) else values
    return dict(zip(("p50", "p90", "p99"), vals, strict=True))


def from_sketches(windows: list[WindowSketch], window_s: float) -> OperationalReport:
    import datasketches as ds

    lat = None
    for w in windows:
        if w.latency is not None:
            if lat is None:
                lat = ds.kll_doubles_sketch(200)
            lat.merge(w.latency)
    requests = sum(w.requests for w in windows)
    errors = sum(w.errors for w in windows)
    cpu: dict[str, float] = {}
    mem: dict[str, float] = {}
    for w in windows:
        cpu.update(w.cpu_percent)
        mem.update({k: v / 2**20 for k, v in w.memory_rss.items()})
    total = requests + errors
    return OperationalReport(
        requests=requests,
        rows=sum(w.rows for w in windows),
        errors=errors,
        error_rate=errors / total if total else None,
        throughput_rps=requests / window_s if window_s else 0.0,
        latency_ms=_qs(latency_quantiles(lat)),
        replicas=len(set().union(*(w.replicas for w in windows))) if windows else 0,
        cpu_percent=cpu,
        memory_rss_mb=mem,
        source="sketches",
    )


def from_log(log: pd.DataFrame, window_s: float) -> OperationalReport:
    requests = int(log["request_id"].nunique()) if "request_id" in log else len(log)
    lat: list[float | None] = [None, None, None]
    if "latency_ms" in log and len(log):
        per_req = (
            log.groupby("request_id")["latency_ms"].max()
            if "request_id" in log
            else log["latency_ms"]
        )
        lat = [float(v) for v in np.quantile(per_req.to_numpy(dtype="float64"), [0.5, 0.9, 0.99])]
    return OperationalReport(
        requests=requests,
        rows=len(log),
        errors=0,
        error_rate=None,
        throughput_rps=requests / window_s if window_s else 0.0,
        latency_ms=_qs(lat),
        replicas=0,
        source="prediction log",
    )
