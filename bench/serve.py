"""Inference serving: Mainsail against in-process predict, a minimal FastAPI app and MLflow.

All serve the same model (a HistGradientBoostingClassifier on 20 numeric features).
Each server runs as its own process on 127.0.0.1; ``wrk`` (one thread, so it does not
starve the server on 2 cores) drives keep-alive POSTs at concurrency 1, 8 and 32 with
single-row and 100-row bodies in MLflow's ``dataframe_split`` shape. Mainsail runs as
``mainsail serve`` does by default: prediction logging and live sketches on.

Mainsail runs with 1 and with 2 worker processes, both compared with the minimal FastAPI
app on one uvicorn worker (uvicorn's own multi-worker mode loses TCP_NODELAY: ~40 ms per
keep-alive request, a baseline too easy to beat). The cells are interleaved
(every server runs one cell before any runs the next) so that a machine whose load changes
during the run treats them alike, and after each cell the bench waits until that server's
process tree is idle (Mainsail's log writer has caught up), so no server's background work
lands on another's measurement; the load average is printed before and after. Each issue-18
goal is printed as a ratio with whether it is met.

    .venv/bin/python bench/serve.py            # 5 s per cell
    .venv/bin/python bench/serve.py --quick    # 2 s per cell
    .venv/bin/python bench/serve.py --no-mlflow --seconds 3

Needs ``wrk`` (apt-get install wrk). MLflow comes from .bench-venvs/mlflow (bench/_venvs.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _venvs import ensure_venv  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
FEATURES = [f"f{i}" for i in range(20)]

TRAIN = """
import numpy as np, pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(10000, 20)), columns=[f"f{i}" for i in range(20)])
y = (X["f0"] + X["f1"] * X["f2"] > 0).astype(int)
model = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(X, y)
"""

FASTAPI_APP = """
import joblib, pandas as pd
from fastapi import FastAPI, Request
model = joblib.load({path!r})
COLS = [f"f{{i}}" for i in range(20)]
app = FastAPI()

@app.post("/invocations")
async def invocations(request: Request):
    split = (await request.json())["dataframe_split"]
    return {{"predictions": model.predict(pd.DataFrame(split["data"], columns=split["columns"])).tolist()}}

@app.get("/ping")
async def ping():
    return "ok"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early: {url}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server not ready: {url}")


def wrk(port: int, body: bytes, conc: int, seconds: float, workdir: Path) -> dict[str, float]:
    body_file = workdir / f"body-{len(body)}.json"
    body_file.write_bytes(body)
    script = workdir / f"post-{len(body)}.lua"
    script.write_text(
        textwrap.dedent(
            f"""
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            local f = io.open("{body_file}", "rb"); wrk.body = f:read("*all"); f:close()
            """
        )
    )
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{conc}",
            f"-d{seconds:g}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/invocations",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        if not m:
            return float("nan")
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v if unit == "ms" else v * 1000

    return {
        "rps": rps,
        "p50_ms": pct("50"),
        "p99_ms": pct("99"),
        "non2xx": int(errors.group(1)) if errors else 0,
    }


def in_process() -> dict[str, float]:
    ns: dict[str, object] = {}
    exec(TRAIN, ns)  # noqa: S102 - our own training snippet
    model, X = ns["model"], ns["X"]
    one, hundred = X.head(1), X.head(100)
    for _ in range(50):
        model.predict(one)  # type: ignore[attr-defined]
    t = time.perf_counter()
    n = 1000
    for _ in range(n):
        model.predict(one)  # type: ignore[attr-defined]
    single = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for _ in range(200):
        model.predict(hundred)  # type: ignore[attr-defined]
    rows_per_s = 200 * 100 / (time.perf_counter() - t)
    return {"single_ms": single * 1000, "rows_per_s": rows_per_s, "single_rps": 1 / single}


def start_servers(
    tmp: Path, servers: dict[str, tuple[subprocess.Popen[bytes], int]], with_mlflow: bool = True
) -> dict[str, tuple[subprocess.Popen[bytes], int]]:
    import joblib

    ns: dict[str, object] = {}
    exec(TRAIN, ns)  # noqa: S102
    model = ns["model"]
    # Minimal FastAPI endpoint.
    joblib.dump(model, tmp / "model.joblib")
    (tmp / "fastapi_app.py").write_text(FASTAPI_APP.format(path=str(tmp / "model.joblib")))
    port = free_port()
    servers["fastapi"] = (  # one worker: uvicorn's own multi-worker mode loses TCP_NODELAY
        subprocess.Popen(
            [PY, "-m", "uvicorn", "fastapi_app:app", "--port", str(port), "--log-level", "warning"],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        port,
    )
    # Mainsail, prediction logging on.
    env = {**os.environ, "MAINSAIL_HOME": str(tmp / "ms-home")}
    reg = TRAIN + textwrap.dedent(
        """
        import mainsail
        mainsail.register_model(model, name="bench", input_example=X.head(), reference=X)
        mainsail.set_alias("bench", "champion", 1)
        """
    )
    subprocess.run([PY, "-c", reg], env=env, check=True)
    for workers in (1, 2):
        port = free_port()
        servers[f"mainsail-{workers}w"] = (
            subprocess.Popen(
                [PY, "-m", "mainsail", "serve", "models:/bench@champion"]
                + ["--port", str(port), "--workers", str(workers)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(tmp / f"mainsail-{workers}w.log", "wb"),  # noqa: SIM115
            ),
            port,
        )
    if not with_mlflow:
        return _wait_all(tmp, servers)
    # MLflow, in its own virtualenv.
    mlflow_py = ensure_venv("mlflow")
    save = (
        TRAIN
        + f"\nimport mlflow.sklearn\nmlflow.sklearn.save_model(model, {str(tmp / 'mlflow-model')!r}, input_example=X.head(), skops_trusted_types=['sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor'])\n"
    )
    subprocess.run([str(mlflow_py), "-c", save], check=True, capture_output=True)
    port = free_port()
    mlflow_bin = Path(mlflow_py).parent / "mlflow"
    servers["mlflow"] = (
        subprocess.Popen(
            [
                str(mlflow_bin),
                "models",
                "serve",
                "-m",
                str(tmp / "mlflow-model"),
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
                "--env-manager",
                "local",
            ],
            env={**os.environ, "PATH": f"{mlflow_bin.parent}:{os.environ.get('PATH', '')}"},
            stdout=subprocess.DEVNULL,
            stderr=open(tmp / "mlflow.log", "wb"),  # noqa: SIM115 - lives as long as the server
        ),
        port,
    )
    return _wait_all(tmp, servers)


def _wait_all(
    tmp: Path, servers: dict[str, tuple[subprocess.Popen[bytes], int]]
) -> dict[str, tuple[subprocess.Popen[bytes], int]]:
    for name, (proc, port) in servers.items():
        try:
            wait_ready(f"http://127.0.0.1:{port}/ping", proc)
        except RuntimeError:
            log = tmp / f"{name}.log"
            print(log.read_text()[-3000:] if log.exists() else "", file=sys.stderr)
            raise RuntimeError(f"{name} did not start") from None
    return servers


def settle(proc: subprocess.Popen[bytes], quiet_s: float = 2.5, limit_s: float = 30.0) -> float:
    """Wait until the server's process tree has been idle for ``quiet_s`` (longer than the
    log writer's 2 s flush interval: it is done with the last cell's rows), so that no
    server's background work lands on the next one's cell."""
    import psutil

    started = time.monotonic()
    quiet = 0.0
    try:
        root = psutil.Process(proc.pid)
        while time.monotonic() - started < limit_s and quiet < quiet_s:
            tree = [root, *root.children(recursive=True)]
            before = sum(p.cpu_times().user + p.cpu_times().system for p in tree)
            time.sleep(0.5)
            after = sum(p.cpu_times().user + p.cpu_times().system for p in tree)
            quiet = quiet + 0.5 if after - before < 0.05 else 0.0  # under 10 % of a core
    except psutil.Error:
        pass
    return time.monotonic() - started


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def goals(
    res: dict[str, dict[str, dict[str, float]]], base: dict[str, float]
) -> list[tuple[str, float, str, float]]:
    """Each issue-18 goal: (description, ratio, '<=' or '>=', goal)."""
    out: list[tuple[str, float, str, float]] = []
    fa = res["fastapi"]
    for w in (1, 2):
        ms = res[f"mainsail-{w}w"]
        out.append(
            (
                f"1 row c=1 p99 vs FastAPI, {w} worker(s)",
                ms["1x1"]["p99_ms"] / fa["1x1"]["p99_ms"],
                "<=",
                1.3,
            )
        )
        out.append(
            (
                f"1 row c=1 req/s vs FastAPI, {w} worker(s)",
                ms["1x1"]["rps"] / fa["1x1"]["rps"],
                ">=",
                1.0,
            )
        )
    ms = res["mainsail-1w"]
    out.append(
        ("1 row c=32 req/s vs FastAPI, 1 worker", ms["1x32"]["rps"] / fa["1x32"]["rps"], ">=", 3.0)
    )
    for c in (8, 32):
        out.append(
            (
                f"100 rows c={c} p99 vs FastAPI, 1 worker",
                ms[f"100x{c}"]["p99_ms"] / fa[f"100x{c}"]["p99_ms"],
                "<=",
                2.0,
            )
        )
        out.append(
            (
                f"100 rows c={c} rows/s vs FastAPI, 1 worker",
                ms[f"100x{c}"]["rps"] / fa[f"100x{c}"]["rps"],
                ">=",
                2.0,
            )
        )
    best = max(
        res[n][f"100x{c}"]["rps"] for n in ("mainsail-1w", "mainsail-2w") for c in (1, 8, 32)
    )
    out.append(
        ("best 100-row rows/s vs in-process predict", best * 100 / base["rows_per_s"], ">=", 0.8)
    )
    if "mlflow" in res:
        ml = res["mlflow"]
        out.append(
            (
                "1 row c=1 p99 vs MLflow (info)",
                ms["1x1"]["p99_ms"] / ml["1x1"]["p99_ms"],
                "<=",
                float("inf"),
            )
        )
        out.append(
            ("1 row c=32 req/s vs MLflow (info)", ms["1x32"]["rps"] / ml["1x32"]["rps"], ">=", 0.0)
        )
    return out


def main() -> int:
    from rich.console import Console
    from rich.table import Table

    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="2 s per cell")
    ap.add_argument("--seconds", type=float, default=None, help="seconds per cell")
    ap.add_argument("--no-mlflow", action="store_true", help="skip MLflow (no peer venv)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    seconds = args.seconds or (2 if args.quick else 5)
    console = Console()
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # every server alike: no spin-waiting teams
    console.print(f"before: {load()}")
    base = in_process()
    console.print(
        f"in-process predict: {base['single_ms']:.3f} ms per 1-row call, "
        f"{base['rows_per_s']:,.0f} rows/s on 100-row frames"
    )
    rng = np.random.default_rng(1)
    bodies = {
        rows: json.dumps(
            {
                "dataframe_split": {
                    "columns": FEATURES,
                    "data": rng.normal(size=(rows, 20)).round(4).tolist(),
                }
            }
        ).encode()
        for rows in (1, 100)
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="mainsail-bench-serve-") as t:
        tmp = Path(t)
        servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        try:
            start_servers(tmp, servers, with_mlflow=not args.no_mlflow)
            for name, (proc, port) in servers.items():
                results[name] = {}
                for body in bodies.values():
                    wrk(port, body, 8, 1, tmp)  # warm-up
                settle(proc)
            for rows, body in bodies.items():
                for conc in (1, 8, 32):
                    console.print(f"  {rows}-row bodies, concurrency {conc} ({load()})")
                    for name, (proc, port) in servers.items():
                        results[name][f"{rows}x{conc}"] = wrk(port, body, conc, seconds, tmp)
                        results[name][f"{rows}x{conc}"]["settle_s"] = settle(proc)
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    table = Table(title="Serving: requests/s (rows/s for 100-row bodies) / p99 ms")
    table.add_column("server", no_wrap=True)
    cells = [f"{r}x{c}" for r in (1, 100) for c in (1, 8, 32)]
    for c in cells:
        rows, conc = c.split("x")
        table.add_column(f"{rows} row{'s' if rows != '1' else ''}, c={conc}", justify="right")
    for name, res in results.items():
        row = []
        for c in cells:
            r = res[c]
            rows = int(c.split("x")[0])
            rate = r["rps"] * rows
            row.append(
                f"{rate:,.0f} / {r['p99_ms']:.1f}"
                + (f" ({r['non2xx']} err)" if r["non2xx"] else "")
            )
        table.add_row(name, *row)
    console.print(table)
    ratios = {}
    for text, ratio, op, goal in goals(results, base):
        met = ratio <= goal if op == "<=" else ratio >= goal
        shown = (
            ""
            if goal in (0.0, float("inf"))
            else f" (goal {op} {goal:g}: {'met' if met else 'MISSED'})"
        )
        console.print(f"{text}: [bold]{ratio:.2f}x[/]{shown}")
        ratios[text] = {"ratio": ratio, "goal": f"{op} {goal:g}", "met": met}
    console.print(f"after: {load()}")
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "serve.json").write_text(
        json.dumps(
            {"in_process": base, "results": results, "ratios": ratios, "load": load()}, indent=2
        )
    )
    console.print(f"wrote {out / 'serve.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
