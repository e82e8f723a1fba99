"""Drift detection: Mainsail vs Evidently (DataDriftPreset) on the same Parquet files.

Each case's reference and current tables are generated once from fixed seeds (in a writer
subprocess, untimed) and written to Parquet files that every tool then reads, so both get
the same data with the same dtypes. Each tool then runs in a fresh subprocess (Mainsail in
this interpreter, Evidently in ``.bench-venvs/evidently``), times one drift check, and
prints one JSON line with the seconds, the drifted columns and its peak RSS (the process's
own high-water mark, ``VmHWM``):

- ``mainsail`` (streamed): ``drift(ref_path, cur_path)`` reads the files one column at a
  time, so the tables are never whole in memory; reading is inside the timing.
- ``mainsail`` (frames): ``pd.read_parquet`` both files (untimed), then ``drift(ref, cur)``.
- ``evidently``: ``pd.read_parquet`` both files (it needs pandas frames) and the report,
  both timed; the load time is recorded apart, so its report-only time compares with
  Mainsail's frames path.

A case times a drift check over a window of stored live sketches (60 one-minute windows x
2 replicas, the files ``LiveSketches`` writes).

The ``rollup`` case writes 30 days x 4 replicas of one-minute sketch files (172,800 files,
as ``LiveSketches`` names them) and times a 24 h and a 30-day window: first without
rollups (``compact=False``, every file read: the baseline), then the one-time compaction,
then the same windows over the rollups (goal: < 1 s each).

The ``calibration`` case is a grid, not a race: at each size (10k, 100k, 1M rows) four
families of column (normal, skewed, categorical, binary) are moved by equivalent shifts of
0, 0.03, 0.05, 0.1 and 0.2 sd (skewed: robust sd; categories: the re-weighting whose
chi-square divergence is the shift squared; binary: that Cohen's h), several columns per
cell, and it prints the share of columns each tool flags per family and magnitude: the
false-alarm rate at 0, the recall at 0.1 and 0.2, and what each does in between.

    .venv/bin/python bench/drift.py            # 1M x 25 and 1M x 100 (Evidently: minutes, GBs)
    .venv/bin/python bench/drift.py --quick    # 50k rows
    .venv/bin/python bench/drift.py --only 25 --skip-evidently
    .venv/bin/python bench/drift.py --only calibration --calibration-sizes 10000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CATS = ["a", "b", "c", "d", "e"]
BASE_P = [0.4, 0.25, 0.15, 0.12, 0.08]
SHIFT_P = [0.15, 0.2, 0.2, 0.2, 0.25]  # JS distance 0.25 (natural log), 0.30 (base 2)


def layout(n_cols: int) -> tuple[list[str], list[str], list[str]]:
    """Numeric and categorical column names, and which are shifted (1/5 categorical)."""
    n_cat = n_cols // 5
    numeric = [f"num{i}" for i in range(n_cols - n_cat)]
    categorical = [f"cat{i}" for i in range(n_cat)]
    n_shift = 6 if n_cols <= 25 else n_cols // 10
    n_shift_cat = max(n_shift // 3, 1)
    shifted = numeric[: n_shift - n_shift_cat] + categorical[:n_shift_cat]
    return numeric, categorical, shifted


def make(n: int, n_cols: int, seed: int, shift: bool) -> Any:
    import numpy as np
    import pandas as pd

    numeric, categorical, shifted = layout(n_cols)
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for i, c in enumerate(numeric):
        # Shifted numeric columns: mean +0.25..+0.5 sd (normed Wasserstein 0.25..0.5 > 0.1).
        mu = 0.25 + 0.05 * (i % 6) if shift and c in shifted else 0.0
        data[c] = rng.normal(mu, 1.0, n)
    for c in categorical:
        p = SHIFT_P if shift and c in shifted else BASE_P
        data[c] = np.array(CATS, dtype=object)[rng.choice(5, n, p=p)]
    return pd.DataFrame(data)


CAL_FAMILIES = ("normal", "skewed", "categorical", "binary")
CAL_MAGNITUDES = (0.0, 0.03, 0.05, 0.1, 0.2)
CAL_BASE_P = [0.4, 0.25, 0.15, 0.12, 0.08]
LOGNORMAL_SIGMA = 0.75


def calibration_layout(per_cell: int) -> list[tuple[str, str, float]]:
    """(column, family, shift) for every cell; unshifted cells get twice the columns."""
    out = []
    for family in CAL_FAMILIES:
        for delta in CAL_MAGNITUDES:
            for i in range(per_cell * (2 if delta == 0 else 1)):
                out.append((f"{family}@{delta}#{i}", family, delta))
    return out


def _cal_column(family: str, delta: float, n: int, rng: Any) -> Any:
    import math

    import numpy as np

    if family == "normal":
        return rng.normal(delta, 1.0, n)
    if family == "skewed":  # moved by delta of its robust sd (IQR / 1.349)
        iqr = 2 * math.sinh(0.6745 * LOGNORMAL_SIGMA)
        return rng.lognormal(0, LOGNORMAL_SIGMA, n) + delta * iqr / 1.349
    if family == "categorical":
        base = np.array(CAL_BASE_P)
        target = np.full(5, 0.2)
        unit = math.sqrt(float(np.sum((target - base) ** 2 / base)))
        p = base + (delta / unit) * (target - base)
        return np.array(CATS, dtype=object)[rng.choice(5, n, p=p)]
    q = math.sin(math.asin(math.sqrt(0.3)) + delta / 2) ** 2  # Cohen's h = delta from 0.3
    return np.where(rng.random(n) < q, "yes", "no").astype(object)


def make_calibration(n: int, per_cell: int, seed: int, shift: bool) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    data = {
        name: _cal_column(family, delta if shift else 0.0, n, rng)
        for name, family, delta in calibration_layout(per_cell)
    }
    return pd.DataFrame(data)


def calibration_files(folder: Path, n: int, per_cell: int) -> tuple[Path, Path]:
    return (
        folder / f"cal-ref-{n}x{per_cell}.parquet",
        folder / f"cal-cur-{n}x{per_cell}.parquet",
    )


def write_calibration_child(n: int, per_cell: int, folder: str) -> dict[str, Any]:
    ref_path, cur_path = calibration_files(Path(folder), n, per_cell)
    for path, seed, shift in ((ref_path, 11, False), (cur_path, 12, True)):
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            make_calibration(n, per_cell, seed, shift).to_parquet(tmp, index=False)
            os.replace(tmp, path)
    return {"bytes": ref_path.stat().st_size + cur_path.stat().st_size}


def calibration_child(tool: str, n: int, per_cell: int, folder: str) -> dict[str, Any]:
    """One drift check of a calibration pair of files: the columns each tool flags."""
    import pandas as pd

    ref_path, cur_path = calibration_files(Path(folder), n, per_cell)
    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    layout_ = calibration_layout(per_cell)
    t = time.perf_counter()
    if tool == "mainsail":
        from mainsail.monitoring import drift

        drifted = drift(ref, cur).drifted_columns
    else:
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset

        numeric = [c for c, f, _ in layout_ if f in ("normal", "skewed")]
        categorical = [c for c, f, _ in layout_ if f in ("categorical", "binary")]
        dd = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
        snap = Report([DataDriftPreset()]).run(
            current_data=Dataset.from_pandas(cur, data_definition=dd),
            reference_data=Dataset.from_pandas(ref, data_definition=dd),
        )
        drifted = []
        for m in snap.dict()["metrics"]:
            cfg = m.get("config", {})
            if not str(cfg.get("type", "")).endswith("ValueDrift"):
                continue
            method, thr, value = str(cfg["method"]), float(cfg["threshold"]), float(m["value"])
            if ("p_value" in method and value < thr) or ("p_value" not in method and value >= thr):
                drifted.append(cfg["column"])
    return {"seconds": time.perf_counter() - t, "drifted": sorted(drifted)}


def calibration_rates(drifted: list[str], per_cell: int) -> dict[str, dict[str, float]]:
    """Share of flagged columns per family and magnitude."""
    hit = set(drifted)
    rates: dict[str, dict[str, float]] = {}
    for family in CAL_FAMILIES:
        rates[family] = {}
        for delta in CAL_MAGNITUDES:
            cols = [c for c, f, d in calibration_layout(per_cell) if f == family and d == delta]
            rates[family][str(delta)] = sum(c in hit for c in cols) / len(cols)
    return rates


def run_calibration(
    sizes: list[int], per_cell: int, evidently_py: str | None, a: Any
) -> tuple[dict[str, Any], bool]:
    folder = Path(a.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    failed = False
    mags = "".join(f"{d:>8}" for d in CAL_MAGNITUDES)
    print(f"\ncalibration: share of columns flagged ({per_cell} per cell, 2x unshifted)")
    print(f"{'rows':>9} {'tool':<10}{'family':<13}{mags}   (0: false alarms; >= 0.1: recall)")
    for n in sizes:
        w = run_child(
            sys.executable, ["--write-calibration", str(n), str(per_cell), str(folder)], a.timeout
        )
        if "error" in w:
            print(f"{n:>9} (writing data) ERROR {w['error']}")
            failed = True
            continue
        out[str(n)] = {}
        for tool, py in (("mainsail", sys.executable), ("evidently", evidently_py)):
            if py is None:
                continue
            r = run_child(
                py, ["--calibration-child", tool, str(n), str(per_cell), str(folder)], a.timeout
            )
            if "error" in r:
                print(f"{n:>9} {tool:<10}ERROR {r['error']}")
                out[str(n)][tool] = r
                failed = True
                continue
            rates = calibration_rates(r["drifted"], per_cell)
            out[str(n)][tool] = {"seconds": r["seconds"], "rates": rates}
            for family in CAL_FAMILIES:
                cells = "".join(f"{rates[family][str(d)]:>8.2f}" for d in CAL_MAGNITUDES)
                print(f"{n:>9} {tool:<10}{family:<13}{cells}")
            print(f"{'':>9} {tool:<10}{'(seconds)':<13}{r['seconds']:>8.2f}")
    return out, failed


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _hwm_mb() -> float:
    """This process's peak RSS since exec (``VmHWM``; ``ru_maxrss`` may carry the parent's)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return _rss_mb()


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class _Sampler:
    """Peak resident memory during the timed call (sampled every 5 ms, stdlib only)."""

    def __init__(self) -> None:
        import threading

        self.start_mb = _current_rss_mb()
        self.peak_mb = self.start_mb
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak_mb = max(self.peak_mb, _current_rss_mb())

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._t.join()
        self.peak_mb = max(self.peak_mb, _current_rss_mb())
        return {
            "rss_at_start_mb": self.start_mb,
            "call_peak_rss_mb": self.peak_mb,
            "call_added_mb": self.peak_mb - self.start_mb,
        }


def data_files(folder: Path, n: int, n_cols: int) -> tuple[Path, Path]:
    return folder / f"ref-{n}x{n_cols}.parquet", folder / f"cur-{n}x{n_cols}.parquet"


def write_child(n: int, n_cols: int, folder: str) -> dict[str, Any]:
    """Generate a case's two tables and write them to Parquet (once; reused if present)."""
    ref_path, cur_path = data_files(Path(folder), n, n_cols)
    t = time.perf_counter()
    for path, seed, shift in ((ref_path, 1, False), (cur_path, 2, True)):
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            make(n, n_cols, seed, shift).to_parquet(tmp, index=False)
            os.replace(tmp, path)
    return {
        "seconds": time.perf_counter() - t,
        "bytes": ref_path.stat().st_size + cur_path.stat().st_size,
    }


def child(tool: str, mode: str, n: int, n_cols: int, folder: str) -> dict[str, Any]:
    import pandas as pd

    numeric, categorical, _ = layout(n_cols)
    ref_path, cur_path = data_files(Path(folder), n, n_cols)
    load_seconds = None
    if tool == "mainsail":
        from mainsail.monitoring import drift

        if mode == "frames":
            ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
        before = _hwm_mb()
        sampler = _Sampler()
        t = time.perf_counter()
        report = drift(ref, cur) if mode == "frames" else drift(ref_path, cur_path)
        seconds = time.perf_counter() - t
        drifted = report.drifted_columns
        tests = sorted({c.test for c in report.columns})
    else:
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset

        dd = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
        before = _hwm_mb()
        sampler = _Sampler()
        t = time.perf_counter()
        ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
        load_seconds = time.perf_counter() - t
        snap = Report([DataDriftPreset()]).run(
            current_data=Dataset.from_pandas(cur, data_definition=dd),
            reference_data=Dataset.from_pandas(ref, data_definition=dd),
        )
        doc = snap.dict()
        seconds = time.perf_counter() - t
        drifted, methods = [], set()
        for m in doc["metrics"]:
            cfg = m.get("config", {})
            if not str(cfg.get("type", "")).endswith("ValueDrift"):
                continue
            method, thr, value = str(cfg["method"]), float(cfg["threshold"]), float(m["value"])
            methods.add(method)
            if ("p_value" in method and value < thr) or ("p_value" not in method and value >= thr):
                drifted.append(cfg["column"])
        tests = sorted(methods)
    mem = sampler.stop()
    return {
        **mem,
        "seconds": seconds,
        "load_seconds": load_seconds,
        "drifted": sorted(drifted),
        "tests": tests,
        "rss_before_mb": before,
        "peak_rss_mb": _hwm_mb(),
        "ru_maxrss_mb": _rss_mb(),
    }


def sketch_child(n_cols: int, rows_per_window: int, windows: int, replicas: int) -> dict[str, Any]:
    """Write ``windows x replicas`` sketch files, then time one drift check over all of them."""
    import orjson

    import mainsail
    from mainsail.data import profile_frame
    from mainsail.monitoring import load_sketches

    ref = make(200_000, n_cols, 1, False)
    reference = profile_frame(ref)
    root = tempfile.mkdtemp(prefix="mainsail-sketch-bench-")
    folder = Path(root) / "sketches" / "endpoint=bench" / "version=1"
    folder.mkdir(parents=True)
    start_s = 1_700_000_000 // 60 * 60
    for w in range(windows):
        for r in range(replicas):
            part = make(rows_per_window, n_cols, 1000 + w * replicas + r, True)
            doc = {
                "version": "1",
                "window_start": start_s + 60 * w,
                "window_s": 60,
                "replica": f"r{r}",
                "rows": rows_per_window,
                "requests": rows_per_window,
                "profile": profile_frame(part, reference=reference).to_dict(),
            }
            (folder / f"{start_s + 60 * w}-r{r}.json").write_bytes(orjson.dumps(doc))
    t = time.perf_counter()
    merged = load_sketches(root, "bench", start_s * 1000, (start_s + 60 * windows) * 1000)
    t_load = time.perf_counter() - t
    report = mainsail.drift(reference, merged["1"].profile)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t
    return {
        "seconds": seconds,
        "load_seconds": t_load,
        "files": windows * replicas,
        "rows": merged["1"].rows,
        "drifted": sorted(report.drifted_columns),
        "peak_rss_mb": _hwm_mb(),
    }


def rollup_child(days: int, replicas: int, baseline_30d: int) -> dict[str, Any]:
    """Minute sketch files for ``days`` x ``replicas``; time windows without and with rollups."""
    import base64

    import datasketches as ds
    import numpy as np
    import orjson
    import pandas as pd

    from mainsail.data import profile_frame
    from mainsail.monitoring import load_sketches

    rng = np.random.default_rng(0)
    rows = 50
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=rows),
            "y": rng.lognormal(size=rows),
            "plan": rng.choice(["a", "b", "c"], rows),
        }
    )
    prof = profile_frame(frame).to_dict()
    lat = ds.kll_doubles_sketch(200)
    for v in rng.gamma(2.0, 5.0, rows):
        lat.update(float(v))
    latency = base64.b64encode(lat.serialize()).decode()
    root = tempfile.mkdtemp(prefix="mainsail-rollup-bench-")
    folder = Path(root) / "sketches" / "endpoint=bench" / "version=1"
    folder.mkdir(parents=True)
    now = int(time.time()) // 86400 * 86400
    first = now - days * 86400
    t = time.perf_counter()
    nbytes = 0
    for start in range(first, now, 60):
        for r in range(replicas):
            doc = orjson.dumps(
                {
                    "version": "1",
                    "window_start": start,
                    "window_s": 60,
                    "replica": f"r{r}",
                    "rows": rows,
                    "requests": rows,
                    "errors": 0,
                    "latency_kll": latency,
                    "profile": prof,
                    "process": {"cpu_percent": 10.0, "memory_rss": 1e8},
                }
            )
            (folder / f"{start}-r{r}.json").write_bytes(doc)
            nbytes += len(doc)
    out: dict[str, Any] = {
        "files": days * 1440 * replicas,
        "bytes": nbytes,
        "write_seconds": time.perf_counter() - t,
    }

    def timed(start_s: int, **kw: Any) -> tuple[float, int]:
        t0 = time.perf_counter()
        merged = load_sketches(root, "bench", start_s * 1000, now * 1000, now_s=now, **kw)
        return time.perf_counter() - t0, merged["1"].rows

    day_s, rows_day = timed(now - 86400, compact=False)
    out["baseline_24h_seconds"], out["rows_24h"] = day_s, rows_day
    if baseline_30d:
        month_s, rows_month = timed(first, compact=False)
        out["baseline_30d_seconds"], out["rows_30d"] = month_s, rows_month
    t = time.perf_counter()
    timed(first)  # the first read compacts (once)
    out["compaction_seconds"] = time.perf_counter() - t
    out["files_after"] = sum(1 for _ in (Path(root) / "sketches").rglob("*.json"))
    out["rollup_24h_seconds"], r24 = timed(now - 86400)
    out["rollup_30d_seconds"], r30 = timed(first)
    out["rows_match"] = r24 == rows_day and (not baseline_30d or r30 == out["rows_30d"])
    out["rows_30d_rollup"] = r30
    return out


def run_child(python: str, args: list[str], timeout: float) -> dict[str, Any]:
    t = time.perf_counter()
    try:
        proc = subprocess.run(
            [python, str(Path(__file__).resolve()), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "DO_NOT_TRACK": "true", "PYTHONWARNINGS": "ignore"},
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["failed"]}
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_seconds"] = time.perf_counter() - t
    return out


def _case_row(r: dict[str, Any], shifted: list[str]) -> dict[str, Any]:
    r["exact"] = r["drifted"] == sorted(shifted)
    r["missed"] = sorted(set(shifted) - set(r["drifted"]))
    r["false_alarms"] = sorted(set(r["drifted"]) - set(shifted))
    return r


def _ratios(m: dict[str, Any], e: dict[str, Any], e_seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "speedup": e_seconds / m["seconds"],
        "memory_ratio": m["peak_rss_mb"] / e["peak_rss_mb"],
    }
    if m.get("call_added_mb") is not None and e.get("call_added_mb"):
        out["added_memory_ratio"] = m["call_added_mb"] / e["call_added_mb"]
    out["goals_met"] = out["speedup"] >= 30 and out["memory_ratio"] <= 0.2 and m["exact"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="50k rows instead of 1M")
    ap.add_argument(
        "--only",
        nargs="*",
        choices=["25", "100", "sketch", "rollup", "calibration"],
        help="cases to run",
    )
    ap.add_argument("--rollup-days", type=int, default=30)
    ap.add_argument("--rollup-replicas", type=int, default=4)
    ap.add_argument(
        "--rollup-baseline-30d",
        type=int,
        default=1,
        help="also time the 30-day window without rollups (reads every file; minutes)",
    )
    ap.add_argument(
        "--calibration-sizes",
        nargs="*",
        type=int,
        default=[10_000, 100_000, 1_000_000],
        help="rows per side of the calibration grid",
    )
    ap.add_argument("--calibration-per-cell", type=int, default=3, help="columns per cell")
    ap.add_argument("--skip-evidently", action="store_true")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per child")
    ap.add_argument("--out", default=str(HERE / "out" / "drift.json"))
    ap.add_argument(
        "--data-dir",
        default=str(HERE / "out" / "drift-data"),
        help="where the generated Parquet files go (kept and reused; delete to regenerate)",
    )
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    ap.add_argument("--write-child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--sketch-child", nargs=4, type=int, help=argparse.SUPPRESS)
    ap.add_argument("--write-calibration", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--calibration-child", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--rollup-child", nargs=3, type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.rollup_child:
        print(json.dumps(rollup_child(*a.rollup_child)))
        return 0
    if a.write_calibration:
        n, per, folder = a.write_calibration
        print(json.dumps(write_calibration_child(int(n), int(per), folder)))
        return 0
    if a.calibration_child:
        tool, n, per, folder = a.calibration_child
        print(json.dumps(calibration_child(tool, int(n), int(per), folder)))
        return 0
    if a.child:
        tool, mode, rows, cols, folder = a.child
        print(json.dumps(child(tool, mode, int(rows), int(cols), folder)))
        return 0
    if a.write_child:
        print(
            json.dumps(write_child(int(a.write_child[0]), int(a.write_child[1]), a.write_child[2]))
        )
        return 0
    if a.sketch_child:
        print(json.dumps(sketch_child(*a.sketch_child)))
        return 0

    n = 50_000 if a.quick else 1_000_000
    cases = a.only or ["25", "100", "sketch", "rollup", "calibration"]
    evidently_py = None
    version = None
    if not a.skip_evidently and any(c in cases for c in ("25", "100", "calibration")):
        from _venvs import ensure_venv, installed_version

        evidently_py = str(ensure_venv("evidently"))
        version = installed_version("evidently", "evidently")
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_start": list(os.getloadavg()),
        },
        "evidently_version": version,
        "rows": n,
        "cases": {},
    }
    failed = False
    print(
        f"{'case':<14}{'tool':<20}{'seconds':>10}{'peak RSS MB':>13}{'added MB':>10}"
        "  found exactly the shifted columns?"
    )
    for case in cases:
        if case == "rollup":
            days = a.rollup_days if not a.quick else 3
            args = [str(days), str(a.rollup_replicas), str(a.rollup_baseline_30d)]
            r = run_child(sys.executable, ["--rollup-child", *args], a.timeout)
            results["cases"]["rollup"] = r
            if "error" in r:
                failed = True
                print(f"{'rollup':<14}{'mainsail':<20}  ERROR {r['error']}")
                continue
            print(
                f"\nsketch rollup: {days} days x {a.rollup_replicas} replicas = {r['files']} "
                f"files ({r['bytes'] / 2**20:.0f} MB, written in {r['write_seconds']:.0f} s)"
            )
            for span in ("24h", "30d"):
                base = r.get(f"baseline_{span}_seconds")
                roll = r[f"rollup_{span}_seconds"]
                ratio = f"{base / roll:8.1f}x" if base else "        -"
                base_s = f"{base:10.3f}" if base else f"{'-':>10}"
                print(
                    f"  {span} window: every file {base_s} s   rollups {roll:8.3f} s   "
                    f"{ratio} faster   (goal < 1 s: {roll < 1})"
                )
            print(
                f"  one-time compaction {r['compaction_seconds']:.1f} s, {r['files_after']} "
                f"files left; same rows: {r['rows_match']}"
            )
            continue
        if case == "calibration":
            sizes = a.calibration_sizes if not a.quick else [10_000, 50_000]
            cal, cal_failed = run_calibration(sizes, a.calibration_per_cell, evidently_py, a)
            results["cases"]["calibration"] = cal
            failed = failed or cal_failed
            continue
        if case == "sketch":
            windows, per = (60, 2_000) if not a.quick else (10, 1_000)
            r = run_child(
                sys.executable, ["--sketch-child", "25", str(per), str(windows), "2"], a.timeout
            )
            _, _, shifted = layout(25)
            ok = r.get("drifted") == sorted(shifted)
            results["cases"]["sketch"] = {
                **r,
                "shifted": sorted(shifted),
                "exact": ok,
                "goal_s": 1.0,
            }
            if "error" in r:
                failed = True
                print(f"{'sketch':<14}{'mainsail':<20}  ERROR {r['error']}")
                continue
            print(
                f"{'sketch window':<14}{'mainsail':<20}{r['seconds']:>10.3f}"
                f"{r['peak_rss_mb']:>13.0f}{'':>10}  "
                f"{ok} ({r['files']} files, {r['rows']} rows; goal < 1 s: {r['seconds'] < 1})"
            )
            continue
        cols = int(case)
        _, _, shifted = layout(cols)
        label = f"{n // 1000}k x {cols}"
        folder = Path(a.data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        w = run_child(sys.executable, ["--write-child", str(n), str(cols), str(folder)], a.timeout)
        if "error" in w:
            failed = True
            print(f"{label:<14}{'(writing data)':<20}  ERROR {w['error']}")
            continue
        row: dict[str, Any] = {"shifted": sorted(shifted), "parquet_bytes": w["bytes"]}
        runs = [
            ("mainsail", "parquet", sys.executable),
            ("mainsail", "frames", sys.executable),
            ("evidently", "parquet", evidently_py),
        ]
        for tool, mode, py in runs:
            if py is None:
                continue
            key = tool if tool == "evidently" else f"mainsail_{mode}"
            name = "evidently" if tool == "evidently" else f"mainsail ({mode})"
            r = run_child(py, ["--child", tool, mode, str(n), str(cols), str(folder)], a.timeout)
            if "error" in r:
                failed = True
                print(f"{label:<14}{name:<20}  ERROR {r['error']}")
                row[key] = r
                continue
            row[key] = _case_row(r, shifted)
            print(
                f"{label:<14}{name:<20}{r['seconds']:>10.2f}"
                f"{r['peak_rss_mb']:>13.0f}{r.get('call_added_mb', float('nan')):>10.0f}  "
                f"{r['exact']} (missed {r['missed'] or '-'}, false alarms {r['false_alarms'] or '-'})"
            )
        e = row.get("evidently", {})
        for mode in ("parquet", "frames"):
            m = row.get(f"mainsail_{mode}", {})
            if "seconds" not in m or "seconds" not in e:
                continue
            # Streamed: both read the files inside the timing. Frames: both time the check
            # on frames already in memory (Evidently's load time taken out).
            e_seconds = e["seconds"] if mode == "parquet" else e["seconds"] - e["load_seconds"]
            ratio = _ratios(m, e, e_seconds)
            row[f"ratio_{mode}"] = ratio
            print(
                f"{'':<14}{f'ratio ({mode})':<20}{ratio['speedup']:>9.1f}x"
                f"{ratio['memory_ratio']:>12.2f}x{'':>10}  "
                f"(goals: >= 30x faster, <= 0.2x peak RSS, exact -> {ratio['goals_met']})"
            )
        results["cases"][case] = row
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
