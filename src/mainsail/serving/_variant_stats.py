"""Per-variant serving stats: counters, latency and prediction sketches, flushed to the store.

The hot path only appends to in-memory accumulators (a lock held for a few
increments). A background thread folds them into mergeable sketches and upserts one row
per (endpoint, variant, replica, window) into ``serving_stats`` every few seconds, so the
rollout analysis can merge the windows of every replica. Rows hold cumulative totals for
their window, so rewriting one is idempotent and nothing is lost between flushes.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

log = logging.getLogger("mainsail.serving")

_MAX_CATEGORIES = 64
_K = 200


def _kll() -> Any:
    import datasketches as ds

    return ds.kll_doubles_sketch(_K)


def _kll_load(data: str | None) -> Any:
    import datasketches as ds

    if not data:
        return None
    return ds.kll_doubles_sketch.deserialize(base64.b64decode(data))


def _kll_dump(sketch: Any) -> str | None:
    if sketch is None or sketch.is_empty():
        return None
    return base64.b64encode(sketch.serialize()).decode()


class _Acc:
    """One variant's numbers in one window."""

    __slots__ = (
        "abs_diff",
        "agree",
        "client_errors",
        "compared",
        "dropped",
        "errors",
        "latency",
        "lat_pending",
        "lat_sq",
        "lat_sum",
        "ok",
        "pred_counts",
        "pred_kll",
        "pred_pending",
        "pred_rows",
        "requests",
    )

    def __init__(self) -> None:
        self.requests = self.ok = self.errors = self.client_errors = 0
        self.compared = self.agree = self.dropped = self.pred_rows = 0
        self.abs_diff = self.lat_sum = self.lat_sq = 0.0
        self.latency: Any = None
        self.lat_pending: list[float] = []
        self.pred_kll: Any = None
        self.pred_counts: dict[str, int] | None = None
        self.pred_pending: list[np.ndarray] = []

    def fold(self) -> None:
        if self.lat_pending:
            if self.latency is None:
                self.latency = _kll()
            lat = np.asarray(self.lat_pending, dtype="float64")
            self.latency.update(lat)
            self.lat_sum += float(lat.sum())
            self.lat_sq += float((lat * lat).sum())
            self.lat_pending = []
        if self.pred_pending:
            pending, self.pred_pending = self.pred_pending, []
            flat = [a.reshape(len(a), -1)[:, 0] if a.ndim > 1 else a for a in pending]
            kinds = {a.dtype.kind for a in flat}
            if len(kinds) == 1:
                fold_predictions(self, np.concatenate(flat))  # one pass, not one per request
            else:
                for arr in flat:
                    fold_predictions(self, arr)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "errors": self.errors,
            "client_errors": self.client_errors,
            "latency_kll": _kll_dump(self.latency),
            "latency_sum": self.lat_sum,
            "latency_sq": self.lat_sq,
            "pred_kll": _kll_dump(self.pred_kll),
            "pred_counts": self.pred_counts,
            "pred_rows": self.pred_rows,
            "compared": self.compared,
            "agree": self.agree,
            "abs_diff_sum": self.abs_diff,
            "dropped": self.dropped,
        }


def fold_predictions(acc: Any, arr: np.ndarray) -> None:
    """Numeric predictions go to a quantile sketch; labels to capped frequency counts."""
    arr = np.asarray(arr)
    if arr.ndim > 1:
        arr = arr.reshape(len(arr), -1)[:, 0]
    if arr.size == 0:
        return
    acc.pred_rows += int(arr.size)
    if arr.dtype.kind == "f":
        if acc.pred_kll is None:
            acc.pred_kll = _kll()
        acc.pred_kll.update(arr.astype("float64"))
        return
    counts = acc.pred_counts if acc.pred_counts is not None else {}
    # unique on the raw values (fast for ints and bools), names as strings afterwards
    raw = arr if arr.dtype.kind in "iub" else arr.astype(str)
    values, n = np.unique(raw, return_counts=True)
    for v, c in zip([str(x) for x in values.tolist()], n.tolist(), strict=True):
        if v not in counts and len(counts) >= _MAX_CATEGORIES:
            v = "__other__"
        counts[v] = counts.get(v, 0) + int(c)
    acc.pred_counts = counts


class VariantStats:
    """In-memory per-variant accumulators of one replica, flushed by a background thread."""

    def __init__(
        self,
        endpoint: str,
        sink: Callable[[list[dict[str, Any]]], None],
        window_s: float = 10.0,
        flush_s: float = 2.0,
        replica: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoint = endpoint
        self.clock = clock
        self.sink = sink
        self.window_ms = max(int(window_s * 1000), 100)
        self.flush_s = flush_s
        self.replica = replica or f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._accs: dict[tuple[str, str, int], _Acc] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.flushes = 0
        self.flush_errors = 0

    def _acc(self, variant: str, version: str) -> _Acc:
        window = int(self.clock() * 1000) // self.window_ms * self.window_ms
        key = (variant, version, window)
        acc = self._accs.get(key)
        if acc is None:
            acc = self._accs[key] = _Acc()
        return acc

    # -- hot path ----------------------------------------------------------------------------
    def record(
        self,
        variant: str,
        version: str,
        status: int,
        latency_ms: float,
        predictions: np.ndarray | None = None,
    ) -> None:
        with self._lock:
            acc = self._acc(variant, version)
            acc.requests += 1
            if status >= 500:
                acc.errors += 1
            else:
                acc.ok += 1
                if status >= 400:
                    acc.client_errors += 1
            acc.lat_pending.append(latency_ms)
            if predictions is not None:
                acc.pred_pending.append(predictions)

    def record_shadow(
        self,
        variant: str,
        version: str,
        latency_ms: float,
        predictions: np.ndarray | None,
        reference: np.ndarray | None,
        error: bool = False,
    ) -> None:
        compared = agree = 0
        diff = 0.0
        if predictions is not None and reference is not None:
            a, b = np.asarray(predictions), np.asarray(reference)
            if a.shape == b.shape and a.size:
                compared = int(a.size)
                if a.dtype.kind in "iufb" and b.dtype.kind in "iufb":
                    af, bf = a.astype("float64"), b.astype("float64")
                    agree = int(np.isclose(af, bf, rtol=1e-6, atol=1e-9).sum())
                    diff = float(np.abs(af - bf).sum())
                else:
                    agree = int((a.astype(str) == b.astype(str)).sum())
        with self._lock:
            acc = self._acc(variant, version)
            acc.requests += 1
            if error:
                acc.errors += 1
            else:
                acc.ok += 1
            acc.lat_pending.append(latency_ms)
            acc.compared += compared
            acc.agree += agree
            acc.abs_diff += diff
            if predictions is not None:
                acc.pred_pending.append(np.asarray(predictions))

    def record_dropped(self, variant: str, version: str) -> None:
        with self._lock:
            self._acc(variant, version).dropped += 1

    # -- background --------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        """Fold pending samples and build the rows of every open window (and forget old ones)."""
        now = int(self.clock() * 1000)
        current = now // self.window_ms * self.window_ms
        with self._lock:
            items = list(self._accs.items())
            for key in [k for k in self._accs if k[2] < current - self.window_ms]:
                self._accs.pop(key)  # written on this flush for the last time
            for _, acc in items:
                acc.fold()
            rows = [
                {
                    "endpoint": self.endpoint,
                    "variant": variant,
                    "replica": self.replica,
                    "window_start": window,
                    "model_version": version,
                    "data": {**acc.to_dict(), "window_ms": self.window_ms},
                    "updated_at": now,
                }
                for (variant, version, window), acc in items
            ]
        return rows

    def flush(self) -> int:
        rows = self.rows()
        if rows:
            self.sink(rows)
            self.flushes += 1
        return len(rows)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="mainsail-stats", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_s):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - windows stay in memory; the next flush retries
                self.flush_errors += 1
                log.warning("could not flush serving stats; retrying", exc_info=True)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - shutting down; the store may be gone
            log.warning("final serving-stats flush failed", exc_info=True)


# -- merging rows (for the analysis, in the controller) -----------------------------------------
class MergedStats:
    """Every replica's windows of one variant folded into one set of numbers."""

    def __init__(self) -> None:
        self.requests = self.ok = self.errors = self.client_errors = 0
        self.compared = self.agree = self.dropped = self.pred_rows = 0
        self.abs_diff = self.lat_sum = self.lat_sq = 0.0
        self.latency: Any = None
        self.pred_kll: Any = None
        self.pred_counts: dict[str, int] | None = None
        self.versions: set[str] = set()

    def add(self, row: dict[str, Any]) -> None:
        d = row["data"]
        self.versions.add(str(row.get("model_version", "")))
        for name in ("requests", "ok", "errors", "client_errors", "compared", "agree", "dropped"):
            setattr(self, name, getattr(self, name) + int(d.get(name, 0)))
        self.pred_rows += int(d.get("pred_rows", 0))
        self.abs_diff += float(d.get("abs_diff_sum", 0.0))
        self.lat_sum += float(d.get("latency_sum", 0.0))
        self.lat_sq += float(d.get("latency_sq", 0.0))
        self.latency = _merge_kll(self.latency, d.get("latency_kll"))
        self.pred_kll = _merge_kll(self.pred_kll, d.get("pred_kll"))
        if d.get("pred_counts"):
            counts = self.pred_counts if self.pred_counts is not None else {}
            for k, v in d["pred_counts"].items():
                counts[k] = counts.get(k, 0) + int(v)
            self.pred_counts = counts

    def quantile_ms(self, q: float) -> float | None:
        if self.latency is None or self.latency.is_empty():
            return None
        return float(self.latency.get_quantile(q))

    def latency_mean_var(self) -> tuple[float, float, int]:
        """Mean and sample variance of latency (ms), and the number of requests."""
        n = int(self.latency.n) if self.latency is not None else 0
        if n < 2:
            return (self.lat_sum / n if n else 0.0), 0.0, int(n)
        mean = self.lat_sum / n
        var = max((self.lat_sq - n * mean * mean) / (n - 1), 0.0)
        return mean, var, int(n)

    @property
    def success_rate(self) -> float | None:
        return self.ok / self.requests if self.requests else None


def _merge_kll(into: Any, data: str | None) -> Any:
    other = _kll_load(data)
    if other is None:
        return into
    if into is None:
        return other
    into.merge(other)
    return into


def merge_rows(rows: Iterable[dict[str, Any]]) -> dict[str, MergedStats]:
    """``serving_stats`` rows (any replicas, any windows) merged per variant."""
    out: dict[str, MergedStats] = {}
    for row in rows:
        out.setdefault(row["variant"], MergedStats()).add(row)
    return out


def prediction_bins(stats: Sequence[MergedStats], bins: int = 10) -> list[np.ndarray] | None:
    """Comparable histograms of several variants' predictions (the first one sets the bins)."""
    if all(s.pred_counts for s in stats):
        keys = sorted(set().union(*(s.pred_counts or {} for s in stats)))
        return [np.array([(s.pred_counts or {}).get(k, 0) for k in keys], float) for s in stats]
    if all(s.pred_kll is not None and not s.pred_kll.is_empty() for s in stats):
        ref = stats[0].pred_kll
        edges = sorted({float(ref.get_quantile(q)) for q in np.linspace(0, 1, bins + 1)[1:-1]})
        if not edges:
            return [np.array([1.0]) for _ in stats]
        out = []
        for s in stats:
            cdf = np.asarray(s.pred_kll.get_cdf(edges), dtype=float)  # len(edges) + 1 values
            out.append(np.diff(np.concatenate([[0.0], cdf])) * max(s.pred_rows, 1))
        return out
    return None
