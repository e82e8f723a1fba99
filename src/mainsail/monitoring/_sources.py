"""What a monitor reads: live sketch windows and the prediction/feedback logs over a window.

Sketch files are named ``<window_start_s>-<replica>.json`` under
``sketches/endpoint=<name>/version=<v>/``, so a window is selected from file names alone
and only the files inside it are opened. Log segments are partitioned by date, so only the
dates the window touches are read, with a ``ts`` filter pushed down to Parquet.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd

from mainsail.core._errors import InvalidValueError
from mainsail.data._profile import Profile


@dataclass
class WindowSketch:
    """Sketch windows of one model version merged across replicas and minutes."""

    version: str
    profile: Profile | None = None
    rows: int = 0
    requests: int = 0
    errors: int = 0
    latency: Any = None  # a merged KLL sketch (datasketches), or None
    windows: int = 0
    replicas: set[str] = field(default_factory=set)
    cpu_percent: dict[str, float] = field(default_factory=dict)  # replica -> latest
    memory_rss: dict[str, float] = field(default_factory=dict)  # replica -> latest bytes
    first_s: int | None = None
    last_s: int | None = None
    refused: int = 0  # requests refused with a 4xx for schema/type reasons
    refusals: dict[str, dict[str, int]] = field(default_factory=dict)  # reason -> feature -> n


def _sketch_root(root: str, endpoint: str) -> tuple[Any, str]:
    from fsspec.core import url_to_fs

    fs, base = url_to_fs(root)
    return fs, f"{base.rstrip('/')}/sketches/endpoint={endpoint}"


def load_sketches(
    root: str, endpoint: str, start_ms: int, end_ms: int, variant: str | None = None
) -> dict[str, WindowSketch]:
    """Merge every replica's sketch window starting in ``[start_ms, end_ms)``, per version."""
    import datasketches as ds

    fs, folder = _sketch_root(root, endpoint)
    if not fs.exists(folder):
        return {}
    out: dict[str, WindowSketch] = {}
    acc: dict[str, _Accumulator] = {}
    lo, hi = start_ms // 1000, end_ms // 1000
    for path in fs.find(folder):
        name = path.rsplit("/", 1)[-1]
        if not name.endswith(".json") or name.startswith("."):
            continue
        head = name.split("-", 1)[0]
        if not head.isdigit() or not lo <= int(head) < hi:
            continue
        with fs.open(path, "rb") as f:
            doc = orjson.loads(f.read())
        if variant is not None and doc.get("variant", variant) != variant:
            continue
        version = str(doc.get("version"))
        w = out.setdefault(version, WindowSketch(version=version))
        if doc.get("profile"):
            acc.setdefault(version, _Accumulator()).add(doc["profile"])
        w.rows += int(doc.get("rows", 0))
        w.requests += int(doc.get("requests", 0))
        w.errors += int(doc.get("errors", 0))
        w.refused += int(doc.get("refused", 0))
        for reason, counts in (doc.get("refusals") or {}).items():
            merged = w.refusals.setdefault(reason, {})
            for feature, n in counts.items():
                merged[feature] = merged.get(feature, 0) + int(n)
        if doc.get("latency_kll"):
            sk = ds.kll_doubles_sketch.deserialize(base64.b64decode(doc["latency_kll"]))
            if w.latency is None:
                w.latency = sk
            else:
                w.latency.merge(sk)
        replica = str(doc.get("replica", ""))
        w.replicas.add(replica)
        w.windows += 1
        start = int(doc.get("window_start", head))
        w.first_s = start if w.first_s is None else min(w.first_s, start)
        w.last_s = start if w.last_s is None else max(w.last_s, start)
        proc = doc.get("process") or {}
        if "cpu_percent" in proc:
            w.cpu_percent[replica] = float(proc["cpu_percent"])
        if "memory_rss" in proc:
            w.memory_rss[replica] = float(proc["memory_rss"])
    for version, a in acc.items():
        out[version].profile = a.profile()
    return out


class _Accumulator:
    """Merge many profile documents at once: each KLL sketch is decoded once and merged
    into one running sketch per column, serialised once at the end (``Profile.merge``
    re-serialises on every merge, which dominates over hundreds of windows)."""

    def __init__(self) -> None:
        self.rows = 0
        self.cols: dict[str, dict[str, Any]] = {}
        self.sketches: dict[str, Any] = {}

    def add(self, doc: dict[str, Any]) -> None:
        import datasketches as ds

        self.rows += int(doc.get("row_count", 0))
        for name, c in (doc.get("columns") or {}).items():
            cur = self.cols.get(name)
            if cur is None:
                cur = self.cols[name] = {
                    **c,
                    "hist": np.asarray(c["hist"], dtype="int64") if c.get("hist") else None,
                    "values": dict(c.get("values") or {}) if c.get("values") is not None else None,
                }
                cur.pop("kll", None)
                if c.get("kll"):
                    self.sketches[name] = ds.kll_doubles_sketch.deserialize(
                        base64.b64decode(c["kll"])
                    )
                continue
            numeric = c.get("kll") is not None or c.get("edges") is not None
            was_numeric = name in self.sketches or cur.get("edges") is not None
            if numeric != was_numeric:
                raise InvalidValueError(
                    f"Column {name!r} is numeric in some sketch windows and not in others; "
                    "monitor a window after the change, or fix the upstream type."
                )
            cur["count"] = cur.get("count", 0) + c.get("count", 0)
            cur["missing"] = cur.get("missing", 0) + c.get("missing", 0)
            if numeric:
                cur["sum"] = cur.get("sum", 0.0) + c.get("sum", 0.0)
                cur["sumsq"] = cur.get("sumsq", 0.0) + c.get("sumsq", 0.0)
                for key, fn in (("min", min), ("max", max)):
                    if c.get(key) is not None:
                        cur[key] = c[key] if cur.get(key) is None else fn(cur[key], c[key])
                if c.get("hist") is not None and cur.get("hist") is not None:
                    if cur.get("edges") != c.get("edges"):
                        raise InvalidValueError(
                            f"Sketch windows of {name!r} use different histogram bins; they "
                            "must all be profiled with reference= the model's profile."
                        )
                    cur["hist"] = cur["hist"] + np.asarray(c["hist"], dtype="int64")
                if c.get("kll"):
                    sk = ds.kll_doubles_sketch.deserialize(base64.b64decode(c["kll"]))
                    if name in self.sketches:
                        self.sketches[name].merge(sk)
                    else:
                        self.sketches[name] = sk
            else:
                vals = cur.setdefault("values", {}) or {}
                for k, v in (c.get("values") or {}).items():
                    vals[k] = vals.get(k, 0) + v
                cur["values"] = vals

    def profile(self) -> Profile:
        from mainsail.data._profile import ColumnProfile, _cap

        cols = {}
        for name, c in self.cols.items():
            d = dict(c)
            if d.get("hist") is not None:
                d["hist"] = [int(x) for x in d["hist"]]
            if name in self.sketches:
                d["kll"] = base64.b64encode(self.sketches[name].serialize()).decode()
            if d.get("values") is not None:
                d["values"] = _cap(d["values"])
            cols[name] = ColumnProfile.model_validate(d)
        return Profile(row_count=self.rows, columns=cols)


def _dates(start_ms: int, end_ms: int) -> list[str]:
    day = dt.datetime.fromtimestamp(start_ms / 1000, dt.UTC).date()
    last = dt.datetime.fromtimestamp(max(end_ms - 1, start_ms) / 1000, dt.UTC).date()
    out = []
    while day <= last:
        out.append(day.isoformat())
        day += dt.timedelta(days=1)
    return out


def read_log(
    root: str,
    kind: str,
    endpoint: str,
    start_ms: int | None = None,
    end_ms: int | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """Rows of a prediction/feedback log with ``start_ms <= ts < end_ms``.

    Only the date partitions the window touches are listed; the ``ts`` filter is pushed
    down to the Parquet reader. Missing logs give an empty frame.
    """
    import pyarrow.dataset as pads
    from fsspec.core import url_to_fs

    fs, base = url_to_fs(root)
    folder = f"{base.rstrip('/')}/{kind}/endpoint={endpoint}"
    if not fs.exists(folder):
        return pd.DataFrame()
    if start_ms is not None and end_ms is not None:
        dirs = [f"{folder}/date={d}" for d in _dates(start_ms, end_ms)]
        dirs = [d for d in dirs if fs.exists(d)]
    else:
        dirs = [folder]
    files = sorted(p for d in dirs for p in fs.find(d) if p.endswith(".parquet") and "/." not in p)
    if not files:
        return pd.DataFrame()
    flt = None
    if start_ms is not None:
        flt = pads.field("ts") >= start_ms
    if end_ms is not None:
        cond = pads.field("ts") < end_ms
        flt = cond if flt is None else flt & cond
    frames = []
    for p in files:
        # Segments may differ in columns (a new variant field, a changed input): read each.
        ds_ = pads.dataset(p, filesystem=fs, format="parquet")
        cols = [c for c in columns if c in ds_.schema.names] if columns is not None else None
        table = ds_.to_table(columns=cols, filter=flt)
        if table.num_rows:
            frames.append(table.to_pandas())
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def inputs_of(log: pd.DataFrame) -> pd.DataFrame:
    """The model inputs of prediction-log rows (``input.<name>`` columns, renamed)."""
    cols = [c for c in log.columns if c.startswith("input.")]
    return log[cols].rename(columns=lambda c: c[len("input.") :])


def latency_quantiles(sketch: Any, qs: tuple[float, ...] = (0.5, 0.9, 0.99)) -> list[float | None]:
    if sketch is None or sketch.is_empty():
        return [None] * len(qs)
    return [float(v) for v in np.asarray(sketch.get_quantiles(list(qs)))]
