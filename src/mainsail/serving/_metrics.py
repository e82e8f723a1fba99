"""Prometheus series for the data plane (multiprocess-safe with several workers)."""

from __future__ import annotations

import os
from typing import Any

LABELS = ("model_name", "model_version", "variant")


class ServingMetrics:
    """Request counts, errors by reason, queue/compute latency, batch sizes, in-flight."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry() if not self.multiprocess else None
        reg: Any = self.registry
        kw: dict[str, Any] = {"registry": reg} if reg is not None else {}
        self.requests = Counter(
            "mainsail_requests_total", "Inference requests", (*LABELS, "protocol", "code"), **kw
        )
        self.errors = Counter(
            "mainsail_errors_total", "Failed requests by reason", (*LABELS, "reason"), **kw
        )
        buckets = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
        self.latency = Histogram(
            "mainsail_request_seconds",
            "Request latency by stage (queue, compute, total)",
            (*LABELS, "stage"),
            buckets=buckets,
            **kw,
        )
        self.batch_rows = Histogram(
            "mainsail_batch_rows",
            "Rows per predict call",
            LABELS,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
            **kw,
        )
        gauge_kw = dict(kw)
        if self.multiprocess:
            gauge_kw["multiprocess_mode"] = "livesum"
        self.in_flight = Gauge("mainsail_in_flight", "Requests being served", LABELS, **gauge_kw)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        assert self.registry is not None
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
