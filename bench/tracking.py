"""Benchmark Mainsail's tracking SDK against MLflow, in the same run on the same machine.

    .venv/bin/python bench/tracking.py                 # full run (a few minutes)
    .venv/bin/python bench/tracking.py --quick         # smoke run, smaller sizes
    .venv/bin/python bench/tracking.py --only runs search

Every workload runs in a fresh subprocess with its own temp folder: Mainsail's in
.venv/bin/python (with MAINSAIL_HOME=<tmp>), MLflow's in .bench-venvs/mlflow/bin/python
(SQLite backend sqlite:///<tmp>/mlflow.db), which is created on first use. The child
processes re-run this file with ``--child``, so this module's top level uses only the
standard library. Results go to a Rich table and to bench/out/tracking.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MAINSAIL_PY = REPO / ".venv" / "bin" / "python"
DEFAULT_OUT = HERE / "out" / "tracking.json"
TOOLS = ("mainsail", "mlflow")
KEYS = [f"m{k}" for k in range(10)]
FILTER = "metrics.m0 > 0.5 and params.p0 = '3'"

# name -> (title, full size, quick size, goal); sizes are points, steps or runs.
# A goal is ("speedup", x): MLflow time / Mainsail time >= x, or ("under", s): Mainsail < s.
WORKLOADS: dict[str, tuple[str, int, int, tuple[str, float] | None]] = {
    "log_metric": ("{n:,} log_metric calls, one run", 10_000, 1_000, ("speedup", 50)),
    "log_batch": ("{n:,} steps x 10 metrics, batched", 1_000, 100, None),
    "runs": ("{n:,} runs, 10 params + 10 metrics", 1_000, 100, ("speedup", 10)),
    "search": ("filtered search, {n:,} runs", 1_000, 100, ("under", 0.050)),
    "import": ("import, median of {n} processes", 5, 3, ("under", 0.3)),
}


def run_rows(n: int):
    """The same deterministic params/metrics for both tools; p0 = '3' for a tenth of runs."""
    for i in range(n):
        rng = random.Random(i)
        params = {f"p{k}": str((i + k) % 10) for k in range(10)}
        yield params, {key: rng.random() for key in KEYS}


# -- child side: one tool, one workload, prints one JSON line --------------------------------
class MlflowSide:
    def __init__(self, tmp: Path) -> None:
        import mlflow
        from mlflow.tracking import MlflowClient

        self.mlflow, self.version = mlflow, mlflow.__version__
        mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
        artifacts = (tmp / "artifacts").as_uri()
        mlflow.set_experiment(experiment_id=mlflow.create_experiment("bench", artifacts))
        self.client = MlflowClient()

    def log_metric(self, n: int) -> str:
        with self.mlflow.start_run() as run:
            for i in range(n):
                self.mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        return run.info.run_id

    def log_batch(self, steps: int) -> str:
        from mlflow.entities import Metric

        with self.mlflow.start_run() as run:
            batch: list[Metric] = []
            for i in range(steps):
                ts = int(time.time() * 1000)
                batch += [Metric(k, (i + j) / steps, ts, i) for j, k in enumerate(KEYS)]
                if len(batch) >= 1000 or i == steps - 1:
                    self.client.log_batch(run.info.run_id, metrics=batch)
                    batch = []
        return run.info.run_id

    def create_runs(self, n: int) -> None:
        for params, metrics in run_rows(n):
            with self.mlflow.start_run():
                self.mlflow.log_params(params)
                self.mlflow.log_metrics(metrics)

    def search(self, filter_string: str | None = None):
        return self.mlflow.search_runs(experiment_names=["bench"], filter_string=filter_string)

    def points(self, run_id: str, keys: list[str]) -> int:
        return sum(len(self.client.get_metric_history(run_id, k)) for k in keys)


class MainsailSide:
    def __init__(self, tmp: Path) -> None:
        import mainsail

        self.ms, self.version = mainsail, mainsail.__version__
        mainsail.get_context()  # create the database outside the timing, as for MLflow

    def log_metric(self, n: int) -> str:
        with self.ms.start_run(experiment="bench") as run:
            for i in range(n):
                run.log_metric("loss", 1.0 / (i + 1), step=i)
        return run.id

    def log_batch(self, steps: int) -> str:
        with self.ms.start_run(experiment="bench") as run:
            for i in range(steps):
                run.log_metrics({k: (i + j) / steps for j, k in enumerate(KEYS)}, step=i)
        return run.id

    def create_runs(self, n: int) -> None:
        for params, metrics in run_rows(n):
            with self.ms.start_run(experiment="bench", params=params) as run:
                run.log_metrics(metrics)

    def search(self, filter_string: str | None = None):
        if filter_string is None:  # the unfiltered check counts every run, past the default cap
            return self.ms.search_runs("bench", max_results=None)
        return self.ms.search_runs("bench", filter=filter_string)

    def points(self, run_id: str, keys: list[str]) -> int:
        return sum(len(self.ms.get_metric_history(run_id, k)) for k in keys)


def child(tool: str, workload: str, n: int, tmp: Path) -> dict:
    side = (MlflowSide if tool == "mlflow" else MainsailSide)(tmp)
    out: dict = {"version": side.version}

    def check(read_back) -> None:  # after the timer; a failure here keeps the timing
        try:
            out["check"] = read_back()
        except Exception:
            out["check_error"] = traceback.format_exc().strip()

    t0 = time.perf_counter()
    if workload == "log_metric":
        run_id = side.log_metric(n)
        out["seconds"] = time.perf_counter() - t0
        check(lambda: side.points(run_id, ["loss"]))
    elif workload == "log_batch":
        run_id = side.log_batch(n)
        out["seconds"] = time.perf_counter() - t0
        check(lambda: side.points(run_id, KEYS))
    elif workload == "runs":
        side.create_runs(n)
        out["seconds"] = time.perf_counter() - t0
        check(lambda: len(side.search()))
    elif workload == "search":
        side.create_runs(n)  # untimed setup
        out["check"] = len(side.search(FILTER))  # warm-up
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            rows = len(side.search(FILTER))
            times.append(time.perf_counter() - t0)
            assert rows == out["check"], "search results changed between repeats"
        out["seconds"], out["repeats"] = statistics.median(times), times
    return out


# -- parent side -------------------------------------------------------------------------------
def child_env(tool: str, tmp: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAINSAIL_", "MLFLOW_"))}
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    env["MAINSAIL_HOME"] = tmp  # harmless for MLflow, and keeps ~/.mainsail out of it
    if tool == "mlflow":  # no network here: keep MLflow's telemetry from trying
        env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    return env


def run_child(tool: str, python: Path, args: list[str], timeout: float = 1800) -> dict:
    """Run ``python args`` in a fresh temp folder; return its last stdout line as JSON.

    ``{tmp}`` in ``args`` is replaced by the temp folder's path.
    """
    with tempfile.TemporaryDirectory(prefix=f"bench-{tool}-") as tmp:
        cmd = [str(python), *(arg.replace("{tmp}", tmp) for arg in args)]
        proc = subprocess.run(
            cmd, cwd=tmp, env=child_env(tool, tmp), capture_output=True, text=True, timeout=timeout
        )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()[-4000:] or f"exit code {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_import(tool: str, python: Path, repeats: int) -> dict:
    """Median over fresh interpreters of ``import <tool>``, timed with perf_counter inside.

    Interpreter start-up is left out. A second figure also touches ``<tool>.start_run``,
    which for a lazily-importing package loads what a first run would need.
    """
    out: dict = {}
    for label, touch in (("seconds", ""), ("with_start_run", f"{tool}.start_run; ")):
        code = (
            f"import time; t = time.perf_counter(); import {tool}; {touch}"
            "s = time.perf_counter() - t; import json; print(json.dumps({'s': s}))"
        )
        times = []
        for _ in range(repeats):
            res = run_child(tool, python, ["-c", code])
            if "error" in res:
                return res
            times.append(res["s"])
        out[label] = statistics.median(times)
    return out


def measure(name: str, size: int, pythons: dict[str, Path]) -> dict:
    results = {}
    for tool in TOOLS:
        if name == "import":
            results[tool] = measure_import(tool, pythons[tool], size)
        else:
            args = [str(HERE / "tracking.py"), "--child", tool, name, "--n", str(size)]
            results[tool] = run_child(tool, pythons[tool], [*args, "--tmp", "{tmp}"])
    return results


def verdict(name: str, res: dict) -> dict:
    ms, mf = res["mainsail"], res["mlflow"]
    row: dict = {"workload": name, "mainsail": ms, "mlflow": mf, "speedup": None, "met": None}
    if "seconds" in ms and "seconds" in mf:
        row["speedup"] = mf["seconds"] / ms["seconds"]
    goal = WORKLOADS[name][3]
    if goal and "seconds" in ms:
        kind, x = goal
        row["goal"] = f">= {x:g}x MLflow" if kind == "speedup" else f"Mainsail < {x * 1000:g} ms"
        value = row["speedup"] if kind == "speedup" else ms["seconds"]
        row["met"] = None if value is None else (value >= x if kind == "speedup" else value < x)
    if "check" in ms and "check" in mf and ms["check"] != mf["check"]:
        row["mismatch"] = f"Mainsail stored/found {ms['check']}, MLflow {mf['check']}"
    return row


def fmt_s(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def show(rows: list[dict], sizes: dict[str, int], meta: dict) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Mainsail {meta['mainsail']} vs MLflow {meta['mlflow']} — tracking")
    for col in ("Workload", "Mainsail", "MLflow", "Speedup", "Goal", "Met"):
        table.add_column(col, justify="left" if col in ("Workload", "Goal") else "right")
    notes = []
    for r in rows:
        name = r["workload"]
        title = WORKLOADS[name][0].format(n=sizes[name])
        if name == "search" and "check" in r["mainsail"]:
            title += f" → {r['mainsail']['check']} rows, median of 5"
        cells = [fmt_s(r[t]["seconds"]) if "seconds" in r[t] else "[red]error" for t in TOOLS]
        speed = f"{r['speedup']:.1f}x" if r["speedup"] else "—"
        met = {True: "[green]yes", False: "[red]no", None: "—"}[r["met"]]
        table.add_row(title, *cells, speed, r.get("goal", "—"), met)
        ms, mf = (r[t].get("with_start_run") for t in TOOLS)
        if ms and mf:
            table.add_row("  + .start_run", fmt_s(ms), fmt_s(mf), f"{mf / ms:.1f}x", "—", "—")
        for tool in TOOLS:
            if "error" in r[tool]:
                notes.append(f"[bold red]{name} / {tool} failed:[/]\n{escape(r[tool]['error'])}")
            if "check_error" in r[tool]:
                err = escape(r[tool]["check_error"])
                notes.append(f"[bold yellow]{name} / {tool} read-back failed:[/]\n{err}")
        if "mismatch" in r:
            notes.append(f"[bold yellow]{name}: results differ:[/] {r['mismatch']}")
    console = Console(width=None if sys.stdout.isatty() else 120)
    console.print(table)
    for note in notes:
        console.print(note, markup=True, highlight=False)


def main(argv: list[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    p.add_argument("--only", nargs="+", metavar="NAME", help=f"any of: {', '.join(WORKLOADS)}")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    p.add_argument("--child", nargs=2, metavar=("TOOL", "WORKLOAD"), help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.child[0], a.child[1], a.n, a.tmp)))
        return 0

    names = [n for part in (a.only or WORKLOADS) for n in part.split(",") if n]
    if unknown := sorted(set(names) - set(WORKLOADS)):
        p.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    names = [n for n in WORKLOADS if n in names]  # canonical order
    sizes = {n: WORKLOADS[n][2 if a.quick else 1] for n in names}

    from importlib.metadata import version

    sys.path.insert(0, str(HERE))
    from _venvs import ensure_venv, installed_version

    pythons = {"mainsail": MAINSAIL_PY, "mlflow": ensure_venv("mlflow")}
    meta = {"mainsail": version("mainsail"), "mlflow": installed_version("mlflow", "mlflow")}
    rows = []
    for name in names:
        print(f"running {name} ({sizes[name]:,}) ...", file=sys.stderr, flush=True)
        rows.append(verdict(name, measure(name, sizes[name], pythons)))
    show(rows, sizes, meta)

    report = {
        "bench": "tracking",
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": a.quick,
        "versions": meta,
        "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count(), "os": sys.platform},
        "sizes": sizes,
        "results": rows,
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {a.out}", file=sys.stderr)
    return 1 if any("error" in r[t] for r in rows for t in TOOLS) else 0


if __name__ == "__main__":
    sys.exit(main())
