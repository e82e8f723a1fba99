"""What a monitor reads: live sketch windows and the prediction/feedback logs over a window.

Sketch files are named ``<window_start_s>-<replica>.json`` under
``sketches/endpoint=<name>/version=<v>/``, so a window is selected from file names alone
and only the files inside it are opened. Log segments are partitioned by date, so only the
dates the window touches are read, with a ``ts`` filter pushed down to Parquet.

Rollups keep a long window cheap: reading compacts the minute files of every hour that
ended more than :data:`HOUR_AFTER_S` ago into one ``rollup/hour-<start>.json`` (every
replica and version of the hour, merged), and the hour rollups of days that ended more than
:data:`DAY_AFTER_S` ago into ``rollup/day-<start>.json``, deleting what they merged. So the
folder holds about a day of minute files, a couple of days of hours, and days: a 30-day
window reads ~60 files, not 170k. A rollup is in a window when its start is, as a minute
file is; so a window resolves to the hour where it reaches more than :data:`HOUR_AFTER_S`
before its end (and before now), and to the day past :data:`DAY_AFTER_S` (rollout analysis
and hour-long monitors read minutes). A minute file
that arrives late for a compacted hour is simply read beside its rollup and merged into it
on the next compaction: compaction deletes what it merged, so nothing counts twice.
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

#: Minute files of an hour are rolled up once the hour ended this long ago.
HOUR_AFTER_S = 3 * 3600
#: Hour rollups of a day are rolled up once the day ended this long ago.
DAY_AFTER_S = 2 * 86400
#: Files one read rolls up at most (oldest first): a backlog of weeks of minute files (a
#: store from before rollups) is worked off over a few monitor runs, none of them long.
COMPACT_BUDGET = 5000
_ROLLUP = "rollup"


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


def _listing(fs: Any, folder: str) -> list[tuple[str, str, int]]:
    """``(path, kind, start_s)`` of every sketch file: kind is ``minute``, ``hour`` or ``day``.

    The listing cache is dropped first: a long-lived s3fs instance would otherwise miss the
    windows written since its last listing, and read rewritten ones against stale ETags.
    """
    fs.invalidate_cache(folder)
    out = []
    for path in fs.find(folder):
        name = path.rsplit("/", 1)[-1]
        if not name.endswith(".json") or name.startswith("."):
            continue
        head, _, rest = name[: -len(".json")].partition("-")
        if head.isdigit():
            out.append((path, "minute", int(head)))
        elif head in ("hour", "day") and rest.isdigit():
            out.append((path, head, int(rest)))
    return out


def _read(fs: Any, path: str) -> dict[str, Any] | None:
    """A sketch document, or ``None`` when it vanished since the listing (compacted).

    ``cat_file`` reads the object as it is now: ``open`` would check it against the ETag
    of the listing and fail on a window a replica rewrote since (s3fs ``FileExpired``).
    """
    try:
        doc: dict[str, Any] = orjson.loads(fs.cat_file(path))
    except FileNotFoundError:
        return None
    return doc


def _entries(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-version entries of a rollup, or a minute file as one entry."""
    if "entries" in doc:
        return list(doc["entries"])
    replica = str(doc.get("replica", ""))
    start = int(doc.get("window_start", 0))
    proc = doc.get("process") or {}
    return [
        {
            "version": doc.get("version"),
            "variant": doc.get("variant"),
            "profile": doc.get("profile"),
            "rows": doc.get("rows", 0),
            "requests": doc.get("requests", 0),
            "errors": doc.get("errors", 0),
            "refused": doc.get("refused", 0),
            "refusals": doc.get("refusals") or {},
            "latency_kll": doc.get("latency_kll"),
            "replicas": [replica],
            "windows": 1,
            "first_s": start,
            "last_s": start,
            "cpu_percent": {replica: proc["cpu_percent"]} if "cpu_percent" in proc else {},
            "memory_rss": {replica: proc["memory_rss"]} if "memory_rss" in proc else {},
        }
    ]


class _Merged:
    """Entries merged per version (and variant, for rollups that keep them apart)."""

    def __init__(self) -> None:
        self.windows: dict[tuple[str, Any], WindowSketch] = {}
        self.acc: dict[tuple[str, Any], _Accumulator] = {}
        self.seen: dict[tuple[str, Any], dict[str, int]] = {}

    def add(self, e: dict[str, Any]) -> None:
        import datasketches as ds

        key = (str(e.get("version")), e.get("variant"))
        w = self.windows.setdefault(key, WindowSketch(version=key[0]))
        if e.get("profile"):
            self.acc.setdefault(key, _Accumulator()).add(e["profile"])
        w.rows += int(e.get("rows", 0))
        w.requests += int(e.get("requests", 0))
        w.errors += int(e.get("errors", 0))
        _add_refusals(w, int(e.get("refused", 0)), e.get("refusals") or {})
        if e.get("latency_kll"):
            sk = ds.kll_doubles_sketch.deserialize(base64.b64decode(e["latency_kll"]))
            if w.latency is None:
                w.latency = sk
            else:
                w.latency.merge(sk)
        w.replicas.update(str(r) for r in e.get("replicas") or [])
        w.windows += int(e.get("windows", 1))
        first, last = int(e.get("first_s", 0)), int(e.get("last_s", 0))
        w.first_s = first if w.first_s is None else min(w.first_s, first)
        w.last_s = last if w.last_s is None else max(w.last_s, last)
        seen = self.seen.setdefault(key, {})
        for replica, v in (e.get("cpu_percent") or {}).items():
            if last >= seen.get(replica, -1):  # the latest figure per replica
                w.cpu_percent[replica] = float(v)
                w.memory_rss.pop(replica, None)
                seen[replica] = last
        for replica, v in (e.get("memory_rss") or {}).items():
            if last >= seen.get(replica, -1):
                w.memory_rss[replica] = float(v)
                seen[replica] = last

    def by_version(self) -> dict[str, WindowSketch]:
        out: dict[str, WindowSketch] = {}
        acc: dict[str, _Accumulator] = {}
        for (version, _), w in sorted(self.windows.items(), key=lambda kv: str(kv[0])):
            merged = out.get(version)
            a = self.acc.get((version, _))
            if merged is None:
                out[version] = w
                if a is not None:
                    acc[version] = a
                continue
            _fold(merged, w)
            if a is not None:
                if version in acc:
                    acc[version].merge(a)
                else:
                    acc[version] = a
        for version, a in acc.items():
            out[version].profile = a.profile()
        return out

    def entries(self) -> list[dict[str, Any]]:
        """The merged entries, as a rollup stores them."""
        out = []
        for key, w in self.windows.items():
            a = self.acc.get(key)
            out.append(
                {
                    "version": key[0],
                    "variant": key[1],
                    "profile": a.profile().to_dict() if a is not None else None,
                    "rows": w.rows,
                    "requests": w.requests,
                    "errors": w.errors,
                    "refused": w.refused,
                    "refusals": w.refusals,
                    "latency_kll": (
                        base64.b64encode(w.latency.serialize()).decode()
                        if w.latency is not None
                        else None
                    ),
                    "replicas": sorted(w.replicas),
                    "windows": w.windows,
                    "first_s": w.first_s,
                    "last_s": w.last_s,
                    "cpu_percent": w.cpu_percent,
                    "memory_rss": w.memory_rss,
                }
            )
        return out


def _add_refusals(w: WindowSketch, refused: int, refusals: dict[str, dict[str, int]]) -> None:
    """Requests refused for schema/type reasons, per reason and feature (serving counts)."""
    w.refused += refused
    for reason, counts in refusals.items():
        merged = w.refusals.setdefault(reason, {})
        for feature, n in counts.items():
            merged[feature] = merged.get(feature, 0) + int(n)


def _fold(into: WindowSketch, w: WindowSketch) -> None:
    """Add ``w`` (another variant of the same version) to ``into``."""
    into.rows += w.rows
    into.requests += w.requests
    into.errors += w.errors
    _add_refusals(into, w.refused, w.refusals)
    if w.latency is not None:
        if into.latency is None:
            into.latency = w.latency
        else:
            into.latency.merge(w.latency)
    into.replicas |= w.replicas
    into.windows += w.windows
    for a, b in ((into.cpu_percent, w.cpu_percent), (into.memory_rss, w.memory_rss)):
        a.update(b)
    firsts = [x for x in (into.first_s, w.first_s) if x is not None]
    lasts = [x for x in (into.last_s, w.last_s) if x is not None]
    into.first_s = min(firsts) if firsts else None
    into.last_s = max(lasts) if lasts else None


def load_sketches(
    root: str,
    endpoint: str,
    start_ms: int,
    end_ms: int,
    variant: str | None = None,
    compact: bool = True,
    now_s: int | None = None,
) -> dict[str, WindowSketch]:
    """Merge every replica's sketch window starting in ``[start_ms, end_ms)``, per version.

    Rollups of old hours and days count as windows starting at their start. With
    ``compact`` (the default), minute files and hour rollups old enough (before both the
    clock, ``now_s``, and the window's end) are rolled up first (see the module
    docstring), so the next long window reads a few files.
    """
    fs, folder = _sketch_root(root, endpoint)
    if not fs.exists(folder):
        return {}
    import time

    listing = _listing(fs, folder)
    lo, hi = start_ms // 1000, end_ms // 1000
    # Relative to the window's end too: a window never sees its own last HOUR_AFTER_S
    # rolled up, whatever the clock says (a window of past data, a test's fixed clock).
    cutoff = min(int(time.time()) if now_s is None else int(now_s), hi)
    if compact and compact_sketches(fs, folder, listing, cutoff, COMPACT_BUDGET):
        listing = _listing(fs, folder)
    merged = _Merged()
    for path, _kind, start in listing:
        if not lo <= start < hi:
            continue
        doc = _read(fs, path)
        if doc is None:  # compacted by another reader since the listing: read it again
            return load_sketches(root, endpoint, start_ms, end_ms, variant, False, now_s)
        for e in _entries(doc):
            if variant is not None and (e.get("variant") or variant) != variant:
                continue
            merged.add(e)
    return merged.by_version()


def compact_sketches(
    fs: Any,
    folder: str,
    listing: list[tuple[str, str, int]],
    now_s: int | None = None,
    budget: int | None = None,
) -> int:
    """Roll minute files up into hours and hours into days once they are old enough.

    Each rollup is written whole (temp file + rename), merged with a rollup already there
    (late files), and only then are its sources deleted. Stops after the rollup that
    reaches ``budget`` files (oldest first). Returns the files rolled up.
    """
    import time

    now = int(time.time()) if now_s is None else int(now_s)
    done = 0
    for kind, unit, after, into in (
        ("minute", 3600, HOUR_AFTER_S, "hour"),
        ("day-from-hour", 86400, DAY_AFTER_S, "day"),
    ):
        source = "minute" if kind == "minute" else "hour"
        groups: dict[int, list[str]] = {}
        for path, k, start in listing:
            if k == source and start // unit * unit + unit <= now - after:
                groups.setdefault(start // unit * unit, []).append(path)
        for start, paths in sorted(groups.items()):
            if budget is not None and done >= budget:
                return done
            target = f"{folder}/{_ROLLUP}/{into}-{start}.json"
            merged = _Merged()
            existing = _read(fs, target) if fs.exists(target) else None
            for e in _entries(existing) if existing else []:
                merged.add(e)
            used = []
            for path in paths:
                doc = _read(fs, path)
                if doc is None:
                    continue
                for e in _entries(doc):
                    merged.add(e)
                used.append(path)
            if not used:
                continue
            doc = {"rollup": into, "start": start, "entries": merged.entries()}
            fs.makedirs(f"{folder}/{_ROLLUP}", exist_ok=True)
            tmp = f"{folder}/{_ROLLUP}/.{into}-{start}.json.tmp"
            with fs.open(tmp, "wb") as f:
                f.write(orjson.dumps(doc))
            fs.mv(tmp, target)
            for path in used:
                try:
                    fs.rm(path)
                except FileNotFoundError:
                    pass
            done += len(used)
        if done and source == "minute":
            listing = _listing(fs, folder)  # the new hours may already be a day old
    return done


class _Accumulator:
    """Merge many profile documents at once: each KLL sketch is decoded once and merged
    into one running sketch per column, serialised once at the end (``Profile.merge``
    re-serialises on every merge, which dominates over hundreds of windows)."""

    def __init__(self) -> None:
        self.rows = 0
        self.cols: dict[str, dict[str, Any]] = {}
        self.sketches: dict[str, Any] = {}

    def merge(self, other: _Accumulator) -> None:
        """Add another accumulator (the same version, another variant)."""
        self.add(other.profile().to_dict())

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
                        # One version binned against two references: a replica started
                        # before a promotion profiles with the old stable's edges, one
                        # started after with the new one's. The KLL sketches (what drift
                        # reads) still merge exactly; the histogram, a picture for the
                        # report, is dropped rather than mixing bins.
                        cur["hist"], cur["edges"] = None, None
                    else:
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
