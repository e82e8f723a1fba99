"""Adaptive micro-batching: concurrent requests share one predict call.

Requests queue per model. The dispatcher takes everything queued the moment the predict
thread is free, so under load batches grow by themselves — up to ``max_batch_size`` rows,
and no more rows than the latency budget (``budget_ms``) allows: per the latency model
(fixed cost + cost per row, fitted on recent batches), the rows of others never add more
than the budget to any request's compute. It waits a little longer (at most
``max_wait_ms``) only when that model says the next request is likely to arrive before a
predict call's fixed cost is paid. A lone request — nothing queued, nothing computing, a
sub-millisecond predict, sparse traffic — is answered on the event loop's thread without the
hop to the predict thread. Requests past their deadline, or
beyond the queue bound, are shed with :class:`Overloaded` (HTTP 503 + Retry-After).
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mainsail.core._errors import MainsailError

# A predict this cheap may run on the loop when nothing waits. (The 5 ms budget was tried:
# under concurrency it stopped batching — 1-row c=32 fell from ~3,500 to ~400 req/s.)
_INLINE_S = 0.001


class Overloaded(MainsailError):
    headline = "Server overloaded"
    status = 503


@dataclass
class _Item:
    frame: pd.DataFrame
    rows: int
    want_proba: bool
    enqueued: float
    future: asyncio.Future[Any]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class BatchResult:
    predictions: np.ndarray
    probabilities: np.ndarray | None
    queue_s: float
    compute_s: float
    batch_rows: int


class LatencyModel:
    """Predict time = fixed + per_row * rows, fitted robustly over recent batches.

    The cost per row is the median of the slopes between pairs of batches at least 4 rows
    apart (Theil-Sen): one batch stalled by a busy machine does not skew it, and while the
    batches are all about the same size it stays unknown (0: no row cap).
    """

    def __init__(self, window: int = 64) -> None:
        self.samples: collections.deque[tuple[int, float]] = collections.deque(maxlen=window)
        self.fixed = 0.0
        self.per_row = 0.0
        self._seen = 0

    def observe(self, rows: int, seconds: float) -> None:
        self.samples.append((rows, seconds))
        self._seen += 1
        # A refit costs ~0.1 ms: every 8th batch once warm, not on every request.
        if len(self.samples) >= 4 and (len(self.samples) < 16 or self._seen % 8 == 0):
            x = np.array([s[0] for s in self.samples], dtype=float)
            y = np.array([s[1] for s in self.samples], dtype=float)
            dx = x[:, None] - x[None, :]
            wide = dx >= 4
            if wide.any():
                slope = float(np.median((y[:, None] - y[None, :])[wide] / dx[wide]))
                self.per_row = max(slope, 0.0)
            self.fixed = max(float(np.median(y - self.per_row * x)), 0.0)

    def predict(self, rows: int) -> float:
        return self.fixed + self.per_row * rows


def _limit_native_threads(n: int) -> None:
    """Cap OpenMP/BLAS threads in the predict thread.

    Called from a non-main thread, OpenMP builds (e.g. scikit-learn's histogram GBMs)
    start a fresh thread team whose spin-waits fight the event loop for 2 cores: measured
    here, a 100-row predict took 15 ms that way and 3.4 ms with one native thread.
    Concurrency comes from batching and worker processes instead.
    """
    if n > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n)


class Batcher:
    """Groups concurrent requests for one model into batched predict calls."""

    def __init__(
        self,
        predict: Callable[[pd.DataFrame, bool], tuple[np.ndarray, np.ndarray | None]],
        max_batch_size: int = 64,
        max_wait_ms: float = 2.0,
        max_queue: int = 2048,
        timeout_s: float = 10.0,
        on_batch: Callable[[list[_Item], pd.DataFrame, np.ndarray, float, np.ndarray | None], None]
        | None = None,
        predict_threads: int = 1,
        budget_ms: float = 5.0,
    ) -> None:
        self._predict = predict
        self.max_batch_size = max_batch_size
        self.budget = budget_ms / 1000
        self.predict_threads = predict_threads
        self._computing = False
        self.max_wait = max_wait_ms / 1000
        self.max_queue = max_queue
        self.timeout = timeout_s
        self._on_batch = on_batch
        self._queue: collections.deque[_Item] = collections.deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="mainsail-predict",
            initializer=_limit_native_threads,
            initargs=(predict_threads,),
        )
        self.latency = LatencyModel()
        self._last_arrival = 0.0
        self.interarrival = 1.0  # EWMA, seconds
        self.in_flight = 0
        self._idle: asyncio.Event | None = None
        self.closed = False
        self._gap = 1.0  # seconds since the previous request arrived

    def start(self) -> None:
        if self._task is None:
            # A lone request is predicted on the event loop's thread (see ``submit``): give
            # it the same native-thread cap as the predict thread.
            _limit_native_threads(self.predict_threads)
            self._wakeup = asyncio.Event()
            self._idle = asyncio.Event()
            self._idle.set()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def submit(
        self, frame: pd.DataFrame, rows: int, want_proba: bool = False, **meta: Any
    ) -> BatchResult:
        if self.closed:
            # Never queue on a batcher nobody dispatches any more: the request would wait
            # forever. (The routes pick the model after the body is read, so this is a guard.)
            raise Overloaded(
                "This model version was just replaced and unloaded. Retry the request."
            )
        if self._task is None:
            self.start()
        if len(self._queue) >= self.max_queue:
            raise Overloaded(
                f"The request queue is full ({self.max_queue} requests waiting). Retry shortly."
            )
        now = time.perf_counter()
        self._gap = now - self._last_arrival if self._last_arrival else 1.0
        if self._last_arrival:
            self.interarrival = 0.8 * self.interarrival + 0.2 * self._gap
        self._last_arrival = now
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        item = _Item(frame, rows, want_proba, now, fut, meta)
        self.in_flight += 1
        assert self._wakeup is not None and self._idle is not None
        self._idle.clear()
        try:
            if self._lone(rows):
                # Nothing queued, nothing computing, a sub-millisecond predict, sparse
                # traffic: answer right here, without two GIL hand-offs to the predict
                # thread and back.
                self._computing = True
                try:
                    preds, proba, compute_s, started = self._compute([item])
                finally:
                    self._computing = False
                return BatchResult(preds, proba, started - now, compute_s, rows)
            self._queue.append(item)
            self._wakeup.set()
            result: BatchResult = await fut
            return result
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every accepted request has been answered."""
        if self._idle is not None:
            await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self) -> None:
        self.closed = True  # no new requests; the ones accepted are answered first
        try:
            await self.drain()
        finally:
            if self._task is not None:
                self._task.cancel()
                try:
                    await self._task
                except asyncio.CancelledError:
                    pass
            while self._queue:  # only after a drain timeout: answer them rather than hang
                item = self._queue.popleft()
                if not item.future.done():
                    item.future.set_exception(
                        Overloaded("The model was unloaded before this request ran. Retry it.")
                    )
            self._executor.shutdown(wait=True)

    def _lone(self, rows: int) -> bool:
        """Whether to predict on the loop: nothing queued or computing, a sub-millisecond
        predict, and requests sparse — the next one is not due before this predict ends.
        (Under concurrency an inline predict would block the parsing of the next requests,
        each would find the queue empty again, and batching would never start.)"""
        lat = self.latency
        if self._queue or self._computing or len(lat.samples) < 4:
            return False
        cost = lat.predict(rows)
        return cost <= _INLINE_S and self._gap > cost

    def row_cap(self) -> int:
        """Most rows in one batch: ``max_batch_size``, and no more than the latency budget
        lets others' rows add to any request's compute time (per the fitted cost per row)."""
        per_row = self.latency.per_row
        if self.budget <= 0 or per_row <= 0 or len(self.latency.samples) < 4:
            return self.max_batch_size
        return max(1, min(self.max_batch_size, int(self.budget / per_row)))

    def _take(self) -> list[_Item]:
        batch: list[_Item] = []
        rows = 0
        cap = self.row_cap()
        while self._queue and (not batch or rows + self._queue[0].rows <= cap):
            item = self._queue.popleft()
            batch.append(item)
            rows += item.rows
        return batch

    async def _run(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            rows = sum(i.rows for i in self._queue)
            if (
                rows < self.max_batch_size
                and self.max_wait > 0
                and len(self.latency.samples) >= 4
                and self.interarrival < min(self.latency.fixed, self.max_wait)
            ):
                # The next request is due before one predict call's fixed cost: wait for it.
                await asyncio.sleep(min(self.interarrival, self.max_wait))
            batch = self._take()
            now = time.perf_counter()
            live = []
            for item in batch:
                if now - item.enqueued > self.timeout:
                    if not item.future.done():
                        item.future.set_exception(
                            Overloaded(
                                f"The request waited {now - item.enqueued:.1f}s, past the "
                                f"{self.timeout:.0f}s deadline. Retry shortly."
                            )
                        )
                else:
                    live.append(item)
            if not live:
                continue
            self._computing = True
            try:
                result = await loop.run_in_executor(self._executor, self._compute, live)
            except Exception as exc:  # noqa: BLE001 - delivered to every waiting request
                for item in live:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            finally:
                self._computing = False
            preds, proba, compute_s, started = result
            offset = 0
            for item in live:
                sl = slice(offset, offset + item.rows)
                offset += item.rows
                if not item.future.done():
                    item.future.set_result(
                        BatchResult(
                            predictions=preds[sl],
                            probabilities=None if proba is None else proba[sl],
                            queue_s=started - item.enqueued,
                            compute_s=compute_s,
                            batch_rows=offset if item is live[-1] else sum(i.rows for i in live),
                        )
                    )

    def _compute(self, items: list[_Item]) -> tuple[np.ndarray, np.ndarray | None, float, float]:
        started = time.perf_counter()
        frame = (
            items[0].frame
            if len(items) == 1
            else pd.concat([i.frame for i in items], ignore_index=True)
        )
        want_proba = any(i.want_proba for i in items)
        preds, proba = self._predict(frame, want_proba)
        elapsed = time.perf_counter() - started
        self.latency.observe(len(frame), elapsed)
        if self._on_batch is not None:
            self._on_batch(items, frame, preds, elapsed, proba)
        return preds, proba, elapsed, started
