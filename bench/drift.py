"""Drift detection: Mainsail vs Evidently (DataDriftPreset) on the same generated data.

Each case runs once per tool in a fresh subprocess (Mainsail in this interpreter, Evidently
in ``.bench-venvs/evidently``). The child generates the reference and current frames from a
fixed seed (untimed), times one drift check, and prints one JSON line with the seconds, the
drifted columns and its peak RSS; the parent also reads the child's peak RSS from
``getrusage(RUSAGE_CHILDREN)``. A last case times a drift check over a window of stored
live sketches (60 one-minute windows x 2 replicas, the files ``LiveSketches`` writes).

    .venv/bin/python bench/drift.py            # 1M x 25 and 1M x 100 (Evidently: minutes, GBs)
    .venv/bin/python bench/drift.py --quick    # 50k rows
    .venv/bin/python bench/drift.py --only 25 --skip-evidently
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


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


def child(tool: str, n: int, n_cols: int) -> dict[str, Any]:
    numeric, categorical, _ = layout(n_cols)
    ref, cur = make(n, n_cols, 1, False), make(n, n_cols, 2, True)
    before = _rss_mb()
    if tool == "mainsail":
        from mainsail.monitoring import drift

        sampler = _Sampler()
        t = time.perf_counter()
        report = drift(ref, cur)
        seconds = time.perf_counter() - t
        drifted = report.drifted_columns
        tests = sorted({c.test for c in report.columns})
    else:
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset

        dd = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
        sampler = _Sampler()
        t = time.perf_counter()
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
        "drifted": sorted(drifted),
        "tests": tests,
        "rss_before_mb": before,
        "peak_rss_mb": _rss_mb(),
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
        "peak_rss_mb": _rss_mb(),
    }


def run_child(python: str, args: list[str], timeout: float) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
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
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["failed"]}
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_seconds"] = wall
    # RUSAGE_CHILDREN is the max over children so far: only trust it when it grew.
    out["child_maxrss_mb"] = peak / 1024 if peak > before else out.get("peak_rss_mb")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="50k rows instead of 1M")
    ap.add_argument("--only", nargs="*", choices=["25", "100", "sketch"], help="cases to run")
    ap.add_argument("--skip-evidently", action="store_true")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per child")
    ap.add_argument("--out", default=str(HERE / "out" / "drift.json"))
    ap.add_argument("--child", nargs=3, metavar=("TOOL", "ROWS", "COLS"), help=argparse.SUPPRESS)
    ap.add_argument("--sketch-child", nargs=4, type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child[0], int(a.child[1]), int(a.child[2]))))
        return 0
    if a.sketch_child:
        print(json.dumps(sketch_child(*a.sketch_child)))
        return 0

    n = 50_000 if a.quick else 1_000_000
    cases = a.only or ["25", "100", "sketch"]
    evidently_py = None
    version = None
    if not a.skip_evidently and any(c in cases for c in ("25", "100")):
        from _venvs import ensure_venv, installed_version

        evidently_py = str(ensure_venv("evidently"))
        version = installed_version("evidently", "evidently")
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "evidently_version": version,
        "rows": n,
        "cases": {},
    }
    failed = False
    print(
        f"{'case':<14}{'tool':<10}{'seconds':>10}{'peak RSS MB':>13}  found exactly the shifted columns?"
    )
    for case in cases:
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
                print(f"{'sketch':<14}{'mainsail':<10}  ERROR {r['error']}")
                continue
            print(
                f"{'sketch window':<14}{'mainsail':<10}{r['seconds']:>10.3f}{r['child_maxrss_mb']:>13.0f}  "
                f"{ok} ({r['files']} files, {r['rows']} rows; goal < 1 s: {r['seconds'] < 1})"
            )
            continue
        cols = int(case)
        _, _, shifted = layout(cols)
        row: dict[str, Any] = {"shifted": sorted(shifted)}
        for tool, py in (("mainsail", sys.executable), ("evidently", evidently_py)):
            if py is None:
                continue
            r = run_child(py, ["--child", tool, str(n), str(cols)], a.timeout)
            if "error" in r:
                failed = True
                print(f"{n}x{cols:<8}{tool:<10}  ERROR {r['error']}")
                row[tool] = r
                continue
            r["exact"] = r["drifted"] == sorted(shifted)
            r["missed"] = sorted(set(shifted) - set(r["drifted"]))
            r["false_alarms"] = sorted(set(r["drifted"]) - set(shifted))
            row[tool] = r
            print(
                f"{f'{n // 1000}k x {cols}':<14}{tool:<10}{r['seconds']:>10.2f}"
                f"{r['child_maxrss_mb']:>13.0f}{r.get('call_added_mb', float('nan')):>10.0f}  "
                f"{r['exact']} (missed {r['missed'] or '-'}, false alarms {r['false_alarms'] or '-'})"
            )
        m, e = row.get("mainsail", {}), row.get("evidently", {})
        if "seconds" in m and "seconds" in e:
            row["speedup"] = e["seconds"] / m["seconds"]
            row["memory_ratio"] = m["child_maxrss_mb"] / e["child_maxrss_mb"]
            if m.get("call_added_mb") is not None and e.get("call_added_mb"):
                row["added_memory_ratio"] = m["call_added_mb"] / e["call_added_mb"]
            row["goals_met"] = row["speedup"] >= 30 and row["memory_ratio"] <= 0.2 and m["exact"]
            print(
                f"{'':<14}{'ratio':<10}{row['speedup']:>9.1f}x{row['memory_ratio']:>12.2f}x  "
                f"(goals: >= 30x faster, <= 0.2x memory, exact -> {row['goals_met']})"
            )
        results["cases"][case] = row
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
