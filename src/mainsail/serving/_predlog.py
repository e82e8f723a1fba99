"""Prediction log, feedback log and live sketches, written off the hot path.

Served batches are handed over by reference; a background thread turns them into
rows and appends Parquet segments under ``<artifact root>/<kind>/endpoint=<name>/
date=<YYYY-MM-DD>/``. A segment appears atomically (temp file + rename). When the
pending buffer is full the producer writes the segment itself (back-pressure):
nothing is dropped. ``close()`` flushes everything (graceful shutdown).

The same thread keeps live sketches per model version and time window — a mergeable
profile of inputs and predictions plus request counters and a latency sketch — and
writes them every few seconds, so monitors and rollout analysis can merge the windows
of every replica.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd


@dataclass
class _Chunk:
    frame: pd.DataFrame
    predictions: np.ndarray | None
    meta: dict[str, Any]  # scalar columns, or arrays of len(frame)


class SegmentWriter:
    """Append-only Parquet segments, partitioned by endpoint and date."""

    def __init__(
        self,
        root: str,
        kind: str,
        endpoint: str,
        flush_interval: float = 2.0,
        max_pending_rows: int = 100_000,
    ) -> None:
        from fsspec.core import url_to_fs

        self.fs, base = url_to_fs(root)
        self.local = "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        )
        self.base = f"{base.rstrip('/')}/{kind}/endpoint={endpoint}"
        self.kind = kind
        self.flush_interval = flush_interval
        self.max_pending_rows = max_pending_rows
        self._pending: list[_Chunk] = []
        self._rows = 0
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rows_written = 0
        self.segments_written = 0
        self.listeners: list[Any] = []
        self.listener_errors: list[str] = []

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name=f"mainsail-{self.kind}", daemon=True
            )
            self._thread.start()

    def append(
        self, frame: pd.DataFrame, predictions: np.ndarray | None = None, **meta: Any
    ) -> None:
        with self._lock:
            self._pending.append(_Chunk(frame, predictions, meta))
            self._rows += len(frame)
            full = self._rows >= self.max_pending_rows
        if full:
            self.flush()  # back-pressure: the producer pays for the write

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_interval):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - retried on the next tick; data stays pending
                time.sleep(0.1)

    def flush(self) -> int:
        with self._write_lock:
            with self._lock:
                chunks, self._pending, self._rows = self._pending, [], 0
            if not chunks:
                return 0
            try:
                table = _rows(chunks)
                n = self._write(table)
            except BaseException:
                with self._lock:
                    self._pending[:0] = chunks  # keep them: nothing is lost on a failed write
                    self._rows += sum(len(c.frame) for c in chunks)
                raise
            for listener in self.listeners:
                try:
                    listener(table)
                except Exception as exc:  # noqa: BLE001 - sketches must never cost log rows
                    self.listener_errors.append(repr(exc))
            return n

    def _write(self, table: pd.DataFrame) -> int:
        dates = pd.to_datetime(table["ts"], unit="ms", utc=True).dt.strftime("%Y-%m-%d")
        for date, part in table.groupby(dates.to_numpy(), sort=False):
            folder = f"{self.base}/date={date}"
            name = f"{int(time.time() * 1000)}-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"
            if self.local:
                os.makedirs(folder, exist_ok=True)
                tmp = f"{folder}/.{name}.tmp"
                part.to_parquet(tmp, index=False)
                os.replace(tmp, f"{folder}/{name}")
            else:
                with self.fs.open(f"{folder}/{name}", "wb") as f:
                    part.to_parquet(f, index=False)
            self.segments_written += 1
        self.rows_written += len(table)
        return len(table)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()


def _rows(chunks: list[_Chunk]) -> pd.DataFrame:
    """One table from many served batches: a single concat, metadata columns vectorised."""
    lengths = np.array([len(c.frame) for c in chunks])
    total = int(lengths.sum())
    cols: dict[str, Any] = {}
    keys = dict.fromkeys(k for c in chunks for k in c.meta)  # in first-seen order
    for key in keys:
        values = [c.meta.get(key) for c in chunks]
        if any(isinstance(v, np.ndarray | list) for v in values) and all(
            v is None or isinstance(v, np.ndarray | list) for v in values
        ):
            # A per-row column some batches lack (e.g. a variant without probabilities).
            values = [
                np.full(len(c.frame), np.nan) if v is None else v
                for c, v in zip(chunks, values, strict=True)
            ]
        if all(isinstance(v, np.ndarray | list) for v in values):
            cols[key] = np.concatenate([np.asarray(v) for v in values])
        else:
            cols[key] = np.repeat(np.array(values, dtype=object), lengths)
    table = pd.DataFrame(cols, index=pd.RangeIndex(total))
    columns = list(chunks[0].frame.columns)
    same = columns and all(list(c.frame.columns) == columns for c in chunks)
    if same and all(pd.api.types.is_numeric_dtype(t) for t in chunks[0].frame.dtypes):
        # Numeric inputs with the same columns (the usual case): one 2-D stack, no frame concat.
        stacked = np.concatenate([c.frame.to_numpy() for c in chunks])
        inputs = pd.DataFrame(stacked, columns=[f"input.{col}" for col in columns])
        table = pd.concat([table, inputs], axis=1)
    elif any(len(c.frame.columns) for c in chunks):
        frames = [c.frame for c in chunks]
        inputs = pd.concat(frames, ignore_index=True)
        inputs = inputs.set_axis([f"input.{c}" for c in inputs.columns], axis=1)
        table = pd.concat([table, inputs.reset_index(drop=True)], axis=1)
    if chunks[0].predictions is not None:
        preds = np.concatenate([np.asarray(c.predictions) for c in chunks])
        table["prediction"] = preds if preds.ndim == 1 else list(preds)
    return table


def read_segments(root: str, kind: str, endpoint: str) -> pd.DataFrame:
    """Every row of a log (all dates), for monitors, tests and reports."""
    from fsspec.core import url_to_fs

    fs, base = url_to_fs(root)
    folder = f"{base.rstrip('/')}/{kind}/endpoint={endpoint}"
    if not fs.exists(folder):
        return pd.DataFrame()
    files = sorted(p for p in fs.find(folder) if p.endswith(".parquet") and "/." not in p)
    if not files:
        return pd.DataFrame()
    frames = []
    for p in files:
        with fs.open(p, "rb") as f:
            frames.append(pd.read_parquet(f))
    return pd.concat(frames, ignore_index=True)


class LiveSketches:
    """Per model version and window: input/prediction profiles, counters, latency sketch."""

    def __init__(
        self,
        root: str,
        endpoint: str,
        reference: Any = None,
        window_s: int = 60,
        replica: str | None = None,
        watch_pid: int | None = None,
        suffix: str = "",
    ) -> None:
        from fsspec.core import url_to_fs

        self.fs, base = url_to_fs(root)
        self.base = f"{base.rstrip('/')}/sketches/endpoint={endpoint}"
        self.reference = reference
        self.window_s = window_s
        self._windows: dict[tuple[str, int], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.replica = replica or f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        # A separate log-writer process sketches for a serving process: it reports that
        # process's CPU and memory, and the serving process's own file (refusals and errors)
        # gets a suffix, so the two never overwrite each other.
        self.watch_pid = watch_pid
        self.suffix = suffix
        self._errors: dict[tuple[str, int], int] = {}
        self._refusals: dict[tuple[str, int], dict[str, dict[str, int]]] = {}
        self._refused: dict[tuple[str, int], int] = {}
        self._process: Any = None

    def record_error(self, version: str, n: int = 1, ts_ms: int | None = None) -> None:
        """Count failed requests of ``version`` in their window (written with the sketches)."""
        ts = ts_ms if ts_ms is not None else int(time.time() * 1000)
        key = (str(version), ts // 1000 // self.window_s * self.window_s)
        with self._lock:
            self._errors[key] = self._errors.get(key, 0) + n

    def record_refusal(
        self, version: str, pairs: list[tuple[str, str]], ts_ms: int | None = None
    ) -> None:
        """Count a request refused for schema/type reasons: ``(reason, feature)`` pairs.

        Written with the window's sketch as ``refusals: {reason: {feature: requests}}``, so
        a monitor sees "column 'age' missing, 'age_years' unexpected" even when every
        request was refused and nothing reached the prediction log.
        """
        from mainsail.serving._refusals import MAX_FEATURES

        if not pairs:
            return
        ts = ts_ms if ts_ms is not None else int(time.time() * 1000)
        key = (str(version), ts // 1000 // self.window_s * self.window_s)
        with self._lock:
            self._refused[key] = self._refused.get(key, 0) + 1
            window = self._refusals.setdefault(key, {})
            for reason, feature in dict.fromkeys(pairs):  # once per request and pair
                counts = window.setdefault(reason, {})
                if feature not in counts and len(counts) >= MAX_FEATURES:
                    feature = "__other__"
                counts[feature] = counts.get(feature, 0) + 1

    def _process_stats(self) -> dict[str, float]:
        """This replica's CPU (percent since the last flush) and resident memory (psutil)."""
        try:
            import psutil
        except ImportError:
            return {}
        if self._process is None:
            self._process = psutil.Process(self.watch_pid)
            self._process.cpu_percent(None)  # the first call only starts the interval
        try:
            return {
                "cpu_percent": float(self._process.cpu_percent(None)),
                "memory_rss": float(self._process.memory_info().rss),
            }
        except psutil.Error:
            return {}

    def observe(self, table: pd.DataFrame) -> None:
        """Fold a flushed table of prediction rows into the current windows."""
        import datasketches as ds

        from mainsail.data._profile import profile_frame

        if table.empty:
            return
        windows = (table["ts"].to_numpy(dtype="int64") // 1000 // self.window_s) * self.window_s
        for (version, window), part in table.groupby([table["model_version"].astype(str), windows]):
            inputs = part[[c for c in part.columns if c.startswith("input.")]].rename(
                columns=lambda c: c[len("input.") :]
            )
            if "prediction" in part and part["prediction"].map(np.isscalar).all():
                inputs = inputs.assign(prediction=part["prediction"].to_numpy())
            prof = profile_frame(inputs, reference=self.reference)
            key = (str(version), int(window))  # type: ignore[call-overload]
            with self._lock:
                w = self._windows.get(key)
                if w is None:
                    w = {
                        "profile": prof,
                        "rows": 0,
                        "requests": set(),
                        "latency": ds.kll_doubles_sketch(200),
                    }
                    self._windows[key] = w
                else:
                    w["profile"] = w["profile"].merge(prof)
                w["rows"] += len(part)
                w["requests"].update(part["request_id"].unique().tolist())
                w["latency"].update(np.array(part["latency_ms"], dtype="float64"))

    def flush(self) -> int:
        """Write every open window (overwriting this replica's file for that window)."""
        with self._lock:
            items: list[tuple[tuple[str, int], dict[str, Any] | None]] = list(self._windows.items())
            now_window = int(time.time()) // self.window_s * self.window_s
            for key in [k for k in self._windows if k[1] < now_window - self.window_s]:
                self._windows.pop(key)  # closed windows were written on the previous flush
            errors = dict(self._errors)
            for key in [k for k in self._errors if k[1] < now_window - self.window_s]:
                self._errors.pop(key)
            refusals = {k: {r: dict(c) for r, c in v.items()} for k, v in self._refusals.items()}
            refused = dict(self._refused)
            for key in [k for k in self._refusals if k[1] < now_window - self.window_s]:
                self._refusals.pop(key)
                self._refused.pop(key, None)
        # A window where every request failed or was refused has no served rows, but its
        # counts must still be written: that is when a monitor needs them most.
        served = {k for k, _ in items}
        for key in sorted((set(errors) | set(refusals)) - served):
            items.append((key, None))
        process = self._process_stats()
        for (version, window), w in items:
            doc = {
                "version": version,
                "window_start": window,
                "window_s": self.window_s,
                "replica": self.replica,
                "rows": w["rows"] if w else 0,
                "requests": len(w["requests"]) if w else 0,
                "latency_kll": base64.b64encode(w["latency"].serialize()).decode() if w else None,
                "profile": w["profile"].to_dict() if w else None,
                "errors": errors.get((version, window), 0),
                "refused": refused.get((version, window), 0),
                "refusals": refusals.get((version, window), {}),
                "process": process,
                "written_at": dt.datetime.now(dt.UTC).isoformat(),
            }
            folder = f"{self.base}/version={version}"
            self.fs.makedirs(folder, exist_ok=True)
            path = f"{folder}/{window}-{self.replica}{self.suffix}.json"
            tmp = f"{folder}/.{window}-{self.replica}{self.suffix}.json.tmp"
            with self.fs.open(tmp, "wb") as f:
                f.write(orjson.dumps(doc))
            self.fs.mv(tmp, path)
        return len(items)
