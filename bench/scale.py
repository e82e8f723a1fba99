"""Scale-out figures: requests/s through HAProxy with 1, 2 and 3 data-plane replicas, and
profiling rows/s with 1 and 2 Ray workers, each against a baseline measured in the same run.

Serving: one PostgreSQL database (MAINSAIL_BENCH_PG_URL, default the test server's), a
local artifact folder, a LogisticRegression deployed to endpoint ``bench``, three
``mainsail serve --endpoint bench`` processes, and HAProxy (the config
``mainsail.packaging._haproxy`` writes for Compose) in front of the first 1, 2 or 3 of them.
``wrk`` (one thread) sends keep-alive single-row POSTs at a fixed concurrency. Baseline:
one replica asked directly, without HAProxy. Prediction logging stays on.

Profiling: a Parquet folder of ``--rows`` rows x 10 columns; baseline: one process reading
it and running ``profile_frame``; then ``profile_parquet`` on a local Ray cluster of 1 and
2 CPUs (Ray start-up excluded: the cluster is up before the timer).

On this 2-core machine every process (load generator, HAProxy, replicas, PostgreSQL) shares
the same two cores, so more replicas cannot add capacity: the curve shows the cost of the
balancer and of fan-out, not a cluster's scaling. The machine is also shared with other
engineers' work; the load average is recorded with the results.

    .venv/bin/python bench/scale.py              # ~3 minutes
    .venv/bin/python bench/scale.py --quick      # smaller, ~1.5 minutes
    .venv/bin/python bench/scale.py --only serve | profile
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
PG = os.environ.get("MAINSAIL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FEATURES = ["f0", "f1", "f2", "f3"]


def free_port() -> int:
    from mainsail.server._process import free_port as fp

    return fp()


def wait_http(url: str, timeout: float = 180.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"not ready in {timeout:.0f} s: {url}")


def wrk(port: int, conc: int, seconds: float, workdir: Path) -> dict[str, float]:
    body = json.dumps({"dataframe_split": {"columns": FEATURES, "data": [[0.1, -0.2, 0.3, 0.5]]}})
    (workdir / "body.json").write_text(body)
    script = workdir / "post.lua"
    script.write_text(
        textwrap.dedent(
            f"""
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            local f = io.open("{workdir / "body.json"}", "rb"); wrk.body = f:read("*all"); f:close()
            """
        )
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{conc}", f"-d{int(seconds)}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}/invocations"],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)

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
        "failed": (int(non2xx.group(1)) if non2xx else 0)
        + (sum(int(x) for x in sock.groups()) if sock else 0),
    }


def bench_serving(tmp: Path, seconds: float, conc: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from mainsail.packaging._haproxy import Backend, HAProxyConfig

    name = f"mainsail_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG.rsplit("/", 1)[0] + "/" + name
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSAIL_")}
    env.update(
        MAINSAIL_DATABASE_URL=url,
        MAINSAIL_ARTIFACT_ROOT=str(tmp / "artifacts"),
        MAINSAIL_HOME=str(tmp / "home"),
        OMP_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")]),
    )
    procs: list[subprocess.Popen[bytes]] = []
    results: dict[str, Any] = {}
    try:
        setup = textwrap.dedent(
            """
            import numpy as np, pandas as pd, mainsail
            from sklearn.linear_model import LogisticRegression
            X = pd.DataFrame(np.random.default_rng(0).normal(size=(500, 4)), columns=["f0", "f1", "f2", "f3"])
            m = LogisticRegression().fit(X, (X["f0"] > 0).astype(int))
            mv = mainsail.register_model(m, name="bench", input_example=X.head(), reference=X)
            mainsail.deploy("bench", mv.address)
            """
        )
        subprocess.run([PY, "-m", "mainsail", "db", "upgrade"], env=env, check=True, timeout=300)
        subprocess.run([PY, "-c", setup], env=env, check=True, timeout=300)
        ports = [free_port() for _ in range(3)]
        for i, port in enumerate(ports):
            log = open(tmp / f"serve{i}.log", "wb")  # noqa: SIM115 - the child owns it
            procs.append(
                subprocess.Popen(
                    [PY, "-m", "mainsail", "serve", "--endpoint", "bench", "--port", str(port)],
                    env={**env, "MAINSAIL_HOME": str(tmp / f"home{i}")},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for port in ports:
            wait_http(f"http://127.0.0.1:{port}/v2/health/ready")
        wrk(ports[0], conc, 2, tmp)  # warm-up
        results["direct, 1 replica (baseline)"] = wrk(ports[0], conc, seconds, tmp)
        for n in (1, 2, 3):
            lb_port = free_port()
            cfg = tmp / f"haproxy-{n}.cfg"
            cfg.write_text(
                HAProxyConfig(
                    [Backend("bench", lb_port, "/v2/health/ready",
                             servers=tuple(f"127.0.0.1:{p}" for p in ports[:n]))]
                ).render()
            )  # fmt: skip
            lb = subprocess.Popen(
                ["haproxy", "-db", "-f", str(cfg)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_http(f"http://127.0.0.1:{lb_port}/v2/health/ready", 30)
                time.sleep(1.5)  # every server seen UP by the health checks
                wrk(lb_port, conc, 1, tmp)
                results[f"HAProxy, {n} replica(s)"] = wrk(lb_port, conc, seconds, tmp)
            finally:
                lb.terminate()
                lb.wait(10)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(40)
            except subprocess.TimeoutExpired:
                p.kill()
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
    base = results["direct, 1 replica (baseline)"]["rps"]
    for r in results.values():
        r["ratio"] = r["rps"] / base if base else float("nan")
    return results


def bench_profiling(tmp: Path, rows: int) -> dict[str, Any]:
    from mainsail.data._distributed import profile_parquet, ray_session
    from mainsail.data._profile import profile_frame

    rng = np.random.default_rng(0)
    folder = tmp / "lake"
    folder.mkdir()
    per = rows // 4
    for i in range(4):
        df = pd.DataFrame(rng.normal(size=(per, 8)), columns=[f"x{j}" for j in range(8)])
        df["plan"] = rng.choice(["a", "b", "c", "d"], per)
        df["n"] = rng.integers(0, 1000, per)
        df.to_parquet(folder / f"part-{i}.parquet", row_group_size=max(per // 4, 1), index=False)
    total = per * 4
    out: dict[str, Any] = {}
    t = time.perf_counter()
    single = profile_frame(pd.read_parquet(folder))
    secs = time.perf_counter() - t
    out["one process (baseline)"] = {"seconds": secs, "rows_per_s": total / secs}
    for cpus in (1, 2):
        with ray_session(num_cpus=cpus):
            profile_parquet(str(folder), target_rows=per // 2)  # workers started and warm
            t = time.perf_counter()
            prof = profile_parquet(str(folder), target_rows=per // 2)
            secs = time.perf_counter() - t
        assert prof.row_count == single.row_count == total
        out[f"Ray, {cpus} worker(s)"] = {"seconds": secs, "rows_per_s": total / secs}
    base = out["one process (baseline)"]["rows_per_s"]
    for r in out.values():
        r["ratio"] = r["rows_per_s"] / base
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["serve", "profile"])
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "scale.json")
    args = ap.parse_args()
    for tool in ("haproxy", "wrk"):
        if args.only != "profile" and shutil.which(tool) is None:
            print(f"{tool} is needed: apt-get install -y {tool}", file=sys.stderr)
            return 2
    seconds, conc, rows = (4.0, 8, 400_000) if args.quick else (10.0, 16, 2_000_000)
    report: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="mainsail-bench-scale-") as d:
        tmp = Path(d)
        if args.only != "profile":
            report["serving"] = bench_serving(tmp / "serve", seconds, conc)
        if args.only != "serve":
            (tmp / "profile").mkdir()
            report["profiling"] = bench_profiling(tmp / "profile", rows)
    report["load_after"] = os.getloadavg()
    print(
        f"\nload average before {report['load_before'][0]:.1f}, after {report['load_after'][0]:.1f}"
    )
    if "serving" in report:
        print(f"\nServing, wrk -t1 -c{conc}, {seconds:.0f} s per row, single-row POST /invocations")
        print(f"{'setup':34} {'req/s':>9} {'ratio':>7} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}")
        for k, r in report["serving"].items():
            print(
                f"{k:34} {r['rps']:9.0f} {r['ratio']:7.2f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {r['failed']:7d}"
            )
    if "profiling" in report:
        print(f"\nProfiling {rows:,} rows x 10 columns of Parquet")
        print(f"{'setup':34} {'rows/s':>12} {'ratio':>7} {'seconds':>8}")
        for k, r in report["profiling"].items():
            print(f"{k:34} {r['rows_per_s']:12,.0f} {r['ratio']:7.2f} {r['seconds']:8.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
