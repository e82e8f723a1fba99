from __future__ import annotations

import asyncio
import time

import numpy as np
import pandas as pd
import pytest

from mainsail.serving import Batcher, LatencyModel, Overloaded


def _frame(n: int, start: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(n, dtype=float) + start})


def test_concurrent_requests_share_predict_calls() -> None:
    calls: list[int] = []

    def predict(frame: pd.DataFrame, proba: bool) -> tuple[np.ndarray, None]:
        calls.append(len(frame))
        time.sleep(0.005)
        return frame["x"].to_numpy() * 2, None

    async def main() -> list[np.ndarray]:
        b = Batcher(predict, max_batch_size=64, max_wait_ms=0)
        results = await asyncio.gather(*(b.submit(_frame(1, i), 1) for i in range(40)))
        await b.close()
        return [r.predictions for r in results]

    preds = asyncio.run(main())
    assert [p.tolist() for p in preds] == [[2.0 * i] for i in range(40)]  # each gets its own rows
    assert sum(calls) == 40 and len(calls) < 40 and max(calls) > 1


def test_lone_request_does_not_wait() -> None:
    def predict(frame: pd.DataFrame, proba: bool) -> tuple[np.ndarray, None]:
        return frame["x"].to_numpy(), None

    async def main() -> float:
        b = Batcher(predict, max_wait_ms=200)
        for _ in range(10):  # teach the latency model
            await b.submit(_frame(1), 1)
        await asyncio.sleep(0.3)  # low load: arrivals are far apart
        t = time.perf_counter()
        await b.submit(_frame(1), 1)
        elapsed = time.perf_counter() - t
        await b.close()
        return elapsed

    assert asyncio.run(main()) < 0.1  # far below max_wait_ms


def test_queue_bound_and_deadline_shed_load() -> None:
    def slow(frame: pd.DataFrame, proba: bool) -> tuple[np.ndarray, None]:
        time.sleep(0.2)
        return frame["x"].to_numpy(), None

    async def main() -> tuple[int, int]:
        b = Batcher(slow, max_batch_size=1, max_queue=3, timeout_s=0.3)
        results = await asyncio.gather(
            *(b.submit(_frame(1), 1) for _ in range(8)), return_exceptions=True
        )
        await b.close()
        shed = sum(isinstance(r, Overloaded) for r in results)
        ok = sum(not isinstance(r, BaseException) for r in results)
        return shed, ok

    shed, ok = asyncio.run(main())
    assert shed >= 5 and ok >= 1 and shed + ok == 8


def test_predict_errors_reach_every_waiter() -> None:
    def broken(frame: pd.DataFrame, proba: bool) -> tuple[np.ndarray, None]:
        raise ValueError("model exploded")

    async def main() -> list[object]:
        b = Batcher(broken)
        out = await asyncio.gather(
            *(b.submit(_frame(1), 1) for _ in range(3)), return_exceptions=True
        )
        await b.close()
        return out

    assert all(isinstance(r, ValueError) for r in asyncio.run(main()))


def test_latency_model_fits_fixed_and_per_row_cost() -> None:
    m = LatencyModel()
    for rows in (1, 10, 50, 100, 200):
        m.observe(rows, 0.002 + 0.0001 * rows)
    assert m.fixed == pytest.approx(0.002, abs=1e-6)
    assert m.per_row == pytest.approx(0.0001, rel=1e-3)


def test_a_closed_batcher_refuses_at_once_instead_of_hanging() -> None:
    def predict(frame: pd.DataFrame, proba: bool) -> tuple[np.ndarray, None]:
        return frame["x"].to_numpy(), None

    async def main() -> None:
        b = Batcher(predict, max_wait_ms=0)
        await b.submit(_frame(1), 1)
        await b.close()
        with pytest.raises(Overloaded, match="replaced and unloaded"):
            await asyncio.wait_for(b.submit(_frame(1), 1), timeout=5)

    asyncio.run(main())


def test_batches_stay_within_the_latency_budget() -> None:
    """Others' rows never add more than the budget to a request: at 0.1 ms a row a 5 ms
    budget takes 50 rows into a batch (max_batch_size alone would allow 1024)."""
    from mainsail.serving._batching import _Item

    async def main() -> list[int]:
        b = Batcher(lambda f, p: (f["x"].to_numpy(), None), max_batch_size=1024, budget_ms=5)
        for rows in (1, 10, 50, 100, 200):  # the fitted cost: 1 ms + 0.1 ms a row
            b.latency.observe(rows, 0.001 + 0.0001 * rows)
        loop = asyncio.get_running_loop()
        for _ in range(300):
            b._queue.append(_Item(_frame(1), 1, False, 0.0, loop.create_future()))
        sizes = []
        while b._queue:
            sizes.append(sum(i.rows for i in b._take()))
        b._queue.append(_Item(_frame(80), 80, False, 0.0, loop.create_future()))
        sizes.append(sum(i.rows for i in b._take()))  # one request alone may exceed it
        await b.close()
        return sizes

    assert asyncio.run(main()) == [50] * 6 + [80]


def test_a_lone_request_skips_the_predict_thread() -> None:
    import threading

    threads: list[str] = []

    def predict(frame: pd.DataFrame, proba: bool) -> tuple[np.ndarray, None]:
        threads.append(threading.current_thread().name)
        time.sleep(0.0002)
        return frame["x"].to_numpy(), None

    async def main() -> None:
        b = Batcher(predict, max_wait_ms=0)
        for i in range(10):  # one client, a few ms between its requests
            r = await b.submit(_frame(1, i), 1)
            assert r.predictions.tolist() == [float(i)]
            await asyncio.sleep(0.005)
        await asyncio.gather(*(b.submit(_frame(1, i), 1) for i in range(20)))  # a burst
        await b.close()

    asyncio.run(main())
    assert threads[:4] == ["mainsail-predict_0"] * 4  # while the latency model learns
    assert set(threads[4:10]) == {threading.main_thread().name}
    assert "mainsail-predict_0" in threads[10:]  # a burst is batched on the predict thread


def test_the_row_cap_needs_a_well_determined_cost_per_row() -> None:
    """Batches of 1-2 rows on a busy machine say nothing about the cost per row: no cap
    (a noisy slope used to cut batches to a few rows, and 1-row c=32 throughput with it)."""
    m = LatencyModel()
    rng = np.random.default_rng(0)
    for i in range(64):
        m.observe(1 + i % 2, 0.002 + rng.uniform(0, 0.004))  # jitter >> any per-row cost
    assert m.per_row == 0.0
    for i in range(64):  # 10 to 200 rows: 1 ms + 0.02 ms a row, one stalled batch
        rows = 10 + 3 * i
        m.observe(rows, 0.001 + 0.00002 * rows + (0.5 if i == 30 else 0.0))
    assert m.per_row == pytest.approx(0.00002, rel=0.05)
    assert m.fixed == pytest.approx(0.001, rel=0.2)
