"""MLflow compatibility: the MLflow client against ``mainsail server`` vs ``mlflow server``.

    .venv/bin/python bench/mlflow_compat.py             # 10,000 log_metric calls; import of
                                                        # 1,000 runs x 100 steps
    .venv/bin/python bench/mlflow_compat.py --quick     # smaller sizes
    .venv/bin/python bench/mlflow_compat.py --mlflow-python PATH   # reuse a venv with mlflow

1. ``log_metric``: the same client script (``mlflow.log_metric`` N times in one run, one
   request each) against a ``mainsail server`` (auth on, SQLite) and against an ``mlflow
   server`` (SQLite backend), both started here on 127.0.0.1, in the same run. Goal: Mainsail
   at least 2x faster.
2. ``import``: an MLflow SQLite store with R runs of 10 params and 100-step histories of 2
   metrics (schema made by MLflow itself, rows bulk-inserted), imported with
   ``mainsail import mlflow``. Goal: under 30 s for 1,000 runs.

MLflow runs in its own venv (``bench/_venvs.py``); results go to bench/out/mlflow_compat.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_OUT = HERE / "out" / "mlflow_compat.json"
sys.path.insert(0, str(HERE))

CLIENT = """
import json, sys, time, mlflow
n = int(sys.argv[1])
mlflow.set_experiment("bench")
with mlflow.start_run():
    t = time.perf_counter()
    for i in range(n):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    s = time.perf_counter() - t
print(json.dumps({"seconds": s, "version": mlflow.__version__}))
"""

MAKE_SCHEMA = """
import mlflow
mlflow.set_experiment("bench-import")
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAINSAIL_", "MLFLOW_"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", **(extra or {}))
    return env


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:  # noqa: S310 - loopback only
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def _client(mlflow_py: Path, uri: str, n: int, token: str | None, tmp: Path) -> dict:
    extra = {"MLFLOW_TRACKING_URI": uri, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    if token:
        extra["MLFLOW_TRACKING_TOKEN"] = token
    (tmp / "client.py").write_text(CLIENT)
    proc = subprocess.run(
        [str(mlflow_py), "client.py", str(n)],
        cwd=tmp,
        env=_env(extra),
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr[-3000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_log_metric(mlflow_py: Path, n: int) -> dict:
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-mlflow-compat-") as d:
        tmp = Path(d)
        # mainsail server, auth on (the team setup), SQLite + local artifacts
        port = _port()
        log = open(tmp / "mainsail.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mainsail",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--bootstrap-admin",
                "--no-controllers",
            ],
            env=_env({"MAINSAIL_HOME": str(tmp / "home")}),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait(f"http://127.0.0.1:{port}/healthz", proc)
            text = (tmp / "mainsail.log").read_text(errors="replace")
            token = re.search(r"^ms_\S+$", text, re.M)
            out["mainsail"] = _client(
                mlflow_py, f"http://127.0.0.1:{port}", n, token.group(0) if token else None, tmp
            )
        finally:
            proc.terminate()
            proc.wait(30)
            log.close()
        # mlflow server, SQLite backend, its default settings
        port = _port()
        mlflow_bin = mlflow_py.parent / "mlflow"
        log = open(tmp / "mlflow.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                str(mlflow_bin),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--backend-store-uri",
                f"sqlite:///{tmp / 'mlflow.db'}",
                "--artifacts-destination",
                str(tmp / "mlartifacts"),
            ],
            cwd=tmp,
            env=_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait(f"http://127.0.0.1:{port}/health", proc)
            out["mlflow"] = _client(mlflow_py, f"http://127.0.0.1:{port}", n, None, tmp)
        finally:
            proc.terminate()
            proc.wait(30)
            log.close()
    ms, mf = out["mainsail"].get("seconds"), out["mlflow"].get("seconds")
    out["speedup"] = mf / ms if ms and mf else None
    out["goal"] = "mainsail >= 2x faster"
    out["met"] = out["speedup"] is not None and out["speedup"] >= 2
    return out


def make_store(mlflow_py: Path, folder: Path, runs: int, steps: int) -> str:
    """An MLflow SQLite store: MLflow creates the schema, the rows are bulk-inserted."""
    (folder / "schema.py").write_text(MAKE_SCHEMA)
    db = folder / "mlflow.db"
    env = _env({"MLFLOW_TRACKING_URI": f"sqlite:///{db}"})
    subprocess.run(
        [str(mlflow_py), "schema.py"],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    conn = sqlite3.connect(db)
    exp_id = conn.execute(
        "select experiment_id from experiments where name='bench-import'"
    ).fetchone()[0]
    now = int(time.time() * 1000)
    run_rows, params, tags, metrics, latest = [], [], [], [], []
    for i in range(runs):
        rid = uuid.UUID(int=i + 1).hex
        art = folder / "mlruns" / str(exp_id) / rid / "artifacts"
        run_rows.append(
            (
                rid,
                f"run-{i}",
                "LOCAL",
                "train.py",
                "",
                "bench",
                "FINISHED",
                now + i,
                now + i + 1000,
                "",
                "active",
                str(art),
                exp_id,
            )
        )
        params += [(f"p{k}", str((i + k) % 10), rid) for k in range(10)]
        tags.append(("mlflow.runName", f"run-{i}", rid))
        for key in ("loss", "acc"):
            for s in range(steps):
                metrics.append((key, 1.0 / (s + 1), now + s, rid, s, 0))
            latest.append((key, 1.0 / steps, now + steps - 1, steps - 1, 0, rid))
    conn.executemany(
        "insert into runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, "
        "status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, "
        "experiment_id) values (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        run_rows,
    )
    conn.executemany("insert into params (key, value, run_uuid) values (?,?,?)", params)
    conn.executemany("insert into tags (key, value, run_uuid) values (?,?,?)", tags)
    conn.executemany(
        "insert into metrics (key, value, timestamp, run_uuid, step, is_nan) values (?,?,?,?,?,?)",
        metrics,
    )
    conn.executemany(
        "insert into latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
        "values (?,?,?,?,?,?)",
        latest,
    )
    conn.commit()
    conn.close()
    return f"sqlite:///{db}"


def bench_import(mlflow_py: Path, runs: int, steps: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-mlflow-import-") as d:
        tmp = Path(d)
        url = make_store(mlflow_py, tmp, runs, steps)
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "mainsail", "import", "mlflow", "--from", url],
            env=_env({"MAINSAIL_HOME": str(tmp / "home"), "COLUMNS": "200"}),
            capture_output=True,
            text=True,
            timeout=3600,
        )
        seconds = time.perf_counter() - t
    if proc.returncode != 0:
        return {"error": proc.stderr[-3000:]}
    return {
        "runs": runs,
        "steps": steps,
        "metric_points": runs * steps * 2,
        "seconds": seconds,
        "summary": " ".join(proc.stdout.split()),
        "goal": "under 30 s for 1,000 runs",
        "met": seconds < 30 if runs >= 1000 else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="1,000 calls, 100 runs")
    p.add_argument("--mlflow-python", type=Path, help="a python with mlflow (default: bench venv)")
    p.add_argument("--only", nargs="*", choices=("log_metric", "import"))
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = p.parse_args(argv)
    if a.mlflow_python is None:
        from _venvs import ensure_venv

        a.mlflow_python = ensure_venv("mlflow")
    only = set(a.only or ("log_metric", "import"))
    results: dict = {"quick": a.quick}
    if "log_metric" in only:
        n = 1000 if a.quick else 10_000
        r = bench_log_metric(a.mlflow_python, n)
        results["log_metric"] = {"calls": n, **r}
        ms, mf = r["mainsail"], r["mlflow"]
        print(
            f"log_metric x{n:,}: mainsail server {ms.get('seconds', ms)!s:.8} s, "
            f"mlflow server {mf.get('seconds', mf)!s:.8} s, ratio "
            f"{(r['speedup'] or 0):.2f}x (goal >= 2x: {'met' if r['met'] else 'MISSED'}); "
            f"mlflow {mf.get('version')}"
        )
    if "import" in only:
        runs = 100 if a.quick else 1000
        r = bench_import(a.mlflow_python, runs, 100)
        results["import"] = r
        if "error" in r:
            print("import failed:", r["error"])
        else:
            print(
                f"import {runs:,} runs x 100 steps x 2 metrics ({r['metric_points']:,} points): "
                f"{r['seconds']:.1f} s (goal < 30 s for 1,000 runs: "
                f"{'n/a' if r['met'] is None else 'met' if r['met'] else 'MISSED'})"
            )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
