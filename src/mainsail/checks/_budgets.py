"""Budgets: in-process p99 latency and throughput, model size, peak memory on load."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from mainsail.checks._policy import BudgetPolicy
from mainsail.checks._types import CheckContext, CheckOutcome


def _rss() -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.Process().memory_info().rss)


def _judge(
    name: str,
    value: float,
    limit: float | None,
    unit: str,
    lower_is_better: bool,
    detail: str,
    data: dict,
) -> CheckOutcome:  # type: ignore[type-arg]
    if limit is None:
        return CheckOutcome(
            name=name,
            kind="budgets",
            status="pass",
            value=value,
            detail=f"{detail} (no budget set)",
            data=data,
        )
    ok = value <= limit if lower_is_better else value >= limit
    bound = f"max {limit:g} {unit}" if lower_is_better else f"min {limit:g} {unit}"
    return CheckOutcome(
        name=name,
        kind="budgets",
        status="pass" if ok else "fail",
        value=value,
        threshold=limit,
        detail=f"{detail}, {bound}",
        data=data,
    )


class BudgetCheck:
    """Latency, throughput, size and load-memory budgets, measured in this process.

    p99 latency is over single-row predicts (through the signature check, as the server
    does); throughput over ``batch_size``-row batches; both stop at ``time_limit_s``.
    Peak memory on load is the larger of the traced Python allocations (numpy included)
    and the growth of the resident set while the model loads.
    """

    name = "budgets"
    config_model = BudgetPolicy
    order = 90

    def __init__(self, config: BudgetPolicy) -> None:
        self.config = config

    def run(self, context: CheckContext) -> list[CheckOutcome]:
        from mainsail.registry._registry import load_model

        cfg = self.config
        out = []
        size_mb = context.version.size_bytes / 1e6
        out.append(
            _judge(
                "budgets.size_mb",
                size_mb,
                cfg.size_mb,
                "MB",
                True,
                f"package size {size_mb:.3g} MB",
                {"bytes": context.version.size_bytes},
            )
        )
        # Peak memory while loading a fresh copy (the files are already in the local cache).
        rss0 = _rss()
        tracemalloc.start()
        try:
            t0 = time.perf_counter()
            fresh = load_model(context.ctx, context.version)
            load_s = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        rss1 = _rss()
        growth = (rss1 - rss0) if rss0 is not None and rss1 is not None else 0
        mem_mb = max(peak, growth) / 1e6
        out.append(
            _judge(
                "budgets.load_memory_mb",
                mem_mb,
                cfg.load_memory_mb,
                "MB",
                True,
                f"peak {mem_mb:.3g} MB while loading ({load_s * 1000:.0f} ms)",
                {"traced_peak_bytes": peak, "rss_growth_bytes": growth, "load_s": load_s},
            )
        )
        X = context.X[fresh.signature.input_names].reset_index(drop=True)
        rows = [X.iloc[[i % len(X)]] for i in range(min(cfg.latency_requests, 10_000))]
        for r in rows[:5]:  # warm up
            fresh.predict(r)
        times = []
        deadline = time.perf_counter() + cfg.time_limit_s
        for r in rows:
            t = time.perf_counter()
            fresh.predict(r)
            times.append((time.perf_counter() - t) * 1000)
            if time.perf_counter() > deadline:
                break
        arr = np.asarray(times)
        p50, p99 = (float(x) for x in np.percentile(arr, [50, 99]))
        out.append(
            _judge(
                "budgets.p99_ms",
                p99,
                cfg.p99_ms,
                "ms",
                True,
                f"single-row p99 {p99:.3g} ms (p50 {p50:.3g} ms, {len(arr)} calls)",
                {"p50_ms": p50, "p99_ms": p99, "calls": len(arr)},
            )
        )
        reps = max(1, -(-cfg.batch_size // len(X)))
        batch = X if len(X) >= cfg.batch_size else X.loc[X.index.repeat(reps)]
        batch = batch.head(cfg.batch_size).reset_index(drop=True)
        done, spent = 0, 0.0
        deadline = time.perf_counter() + cfg.time_limit_s
        while spent < 0.5 or done < 3 * len(batch):
            t = time.perf_counter()
            fresh.predict(batch)
            spent += time.perf_counter() - t
            done += len(batch)
            if time.perf_counter() > deadline:
                break
        rate = done / spent if spent > 0 else float("inf")
        out.append(
            _judge(
                "budgets.rows_per_s",
                rate,
                cfg.min_rows_per_s,
                "rows/s",
                False,
                f"{rate:,.0f} rows/s in {len(batch)}-row batches",
                {"rows": done, "seconds": spent, "batch_size": len(batch)},
            )
        )
        fresh.unload()
        return out
