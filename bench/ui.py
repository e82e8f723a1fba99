"""The web UI at scale: Mainsail's runs page against MLflow's, and a 100,000-point chart.

    .venv/bin/python bench/ui.py [--runs 10000] [--repeats 5]

Seeds the same runs (default 10,000 runs x 20 params x 20 metrics) into a Mainsail home
and into an MLflow SQLite store (MLflow in its own venv, ``bench/_venvs.py``), starts
``mainsail server`` and ``mlflow server`` on 127.0.0.1, and drives both UIs with the same
Playwright harness on Debian's chromium (a fresh browser context per visit, so every visit
downloads the app as a first visit does):

- runs page: from navigation to the newest run's name visible in the table (Mainsail
  ``/runs?experiment=bench``, MLflow ``/#/experiments/<id>``); goal < 300 ms and MLflow's
  time / Mainsail's >= 3;
- a filtered query: from pressing Enter in the filter box to the filtered table; < 300 ms;
- a 100,000-point series: from navigation to the chart drawn, < 500 ms, and the points
  sent to the browser (a few thousand at most, whatever the length).

Each figure is the median of ``--repeats`` visits. Prints each figure, the ratio and
whether it meets its goal; exits 1 if a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _venvs import ensure_venv  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
N_PARAMS = 20
N_METRICS = 20
LONG_POINTS = 100_000
T0 = 1_700_000_000_000


def run_values(i: int) -> tuple[dict[str, Any], dict[str, float]]:
    """The params and metrics of run ``i``: the same in both tools."""
    params = {
        f"p{k}": ("abc"[(i + k) % 3] if k % 2 else str((i * (k + 1)) % 97)) for k in range(N_PARAMS)
    }
    metrics = {f"m{k}": ((i * 7919 + k * 104729) % 10007) / 10007 for k in range(N_METRICS)}
    return params, metrics


# -- seeding ---------------------------------------------------------------------------------
def seed_mainsail(home: Path, n: int) -> None:
    from mainsail.core._settings import Settings
    from mainsail.store._db import Database
    from mainsail.store._sql_store import SqlStore

    settings = Settings(home=home)
    store = SqlStore(Database(settings.resolved_database_url()))
    for i in range(n):
        params, metrics = run_values(i)
        run_id = f"r{i:07d}"
        store.create_run(run_id, "bench", f"run-{i:05d}", params=params, start_time=T0 + i * 1000)
        store.end_run(
            run_id, "finished", [(k, v, 0, T0 + i * 1000 + 500) for k, v in metrics.items()]
        )
    store.create_run("longseries", "long", "long-series", start_time=T0)
    chunk = 20_000
    for s0 in range(0, LONG_POINTS, chunk):
        store.log_metrics(
            "longseries",
            [
                ("loss", 1.0 / (1 + s / 1000) + (s % 97) / 970, s, T0 + s * 10)
                for s in range(s0, s0 + chunk)
            ],
        )
    store.end_run("longseries", "finished")
    store.db.engine.dispose()


# MLflow's client logs about 10 runs a second into SQLite (17 minutes for 10,000): the first
# run goes through the client (it creates the schema and shows every row MLflow writes for a
# run); the others are those rows cloned with each run's own values, in one transaction.
MLFLOW_SEED = textwrap.dedent(
    """
    import json, sqlite3, sys, uuid
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient
    db, n, artifacts = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    exp = client.create_experiment("bench", artifact_location=artifacts)
    T0, NP, NM = 1_700_000_000_000, 20, 20

    def values(i):
        params = {f"p{k}": ("abc"[(i + k) % 3] if k % 2 else str((i * (k + 1)) % 97)) for k in range(NP)}
        metrics = {f"m{k}": ((i * 7919 + k * 104729) % 10007) / 10007 for k in range(NM)}
        return params, metrics

    params, metrics = values(0)
    run = client.create_run(exp, start_time=T0, run_name="run-00000")
    client.log_batch(run.info.run_id, metrics=[Metric(k, v, T0 + 500, 0) for k, v in metrics.items()],
                     params=[Param(k, v) for k, v in params.items()])
    client.set_terminated(run.info.run_id, end_time=T0 + 900)
    tid = run.info.run_id
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    template = dict(con.execute("SELECT * FROM runs WHERE run_uuid = ?", (tid,)).fetchone())
    tags = [dict(r) for r in con.execute("SELECT * FROM tags WHERE run_uuid = ?", (tid,))]
    mcols = [r[1] for r in con.execute("PRAGMA table_info(metrics)")]
    lcols = [r[1] for r in con.execute("PRAGMA table_info(latest_metrics)")]
    run_rows, tag_rows, param_rows, metric_rows, latest_rows = [], [], [], [], []
    for i in range(1, n):
        rid = uuid.uuid4().hex
        row = dict(template, run_uuid=rid, name=f"run-{i:05d}", start_time=T0 + i * 1000,
                   end_time=T0 + i * 1000 + 900, artifact_uri=template["artifact_uri"].replace(tid, rid))
        run_rows.append(row)
        for t in tags:
            tag_rows.append(dict(t, run_uuid=rid, value=f"run-{i:05d}" if t["key"] == "mlflow.runName" else t["value"]))
        params, metrics = values(i)
        param_rows += [{"key": k, "value": v, "run_uuid": rid} for k, v in params.items()]
        for k, v in metrics.items():
            m = {"key": k, "value": v, "timestamp": T0 + i * 1000 + 500, "run_uuid": rid, "step": 0, "is_nan": False}
            metric_rows.append({c: m.get(c) for c in mcols})
            latest_rows.append({c: m.get(c) for c in lcols})

    def insert(table, rows):
        if rows:
            cols = list(rows[0])
            con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                            [tuple(r[c] for c in cols) for r in rows])

    with con:
        for table, rows in [("runs", run_rows), ("tags", tag_rows), ("params", param_rows),
                            ("metrics", metric_rows), ("latest_metrics", latest_rows)]:
            insert(table, rows)
    # Read back through MLflow's own API: the cloned runs are runs to it.
    found = client.search_runs([exp], filter_string="params.p1 = 'b'", max_results=50000)
    want = sum(1 for i in range(n) if "abc"[(i + 1) % 3] == "b")
    assert len(found) == want, (len(found), want)
    print(json.dumps({"experiment_id": exp}))
    """
)


def mlflow_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAINSAIL_", "MLFLOW_"))}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    return env


def seed_mlflow(python: Path, db: Path, artifacts: Path, n: int) -> str:
    proc = subprocess.run(
        [str(python), "-c", MLFLOW_SEED, str(db), str(n), str(artifacts)],
        capture_output=True,
        text=True,
        env=mlflow_env(),
        timeout=3600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"seeding MLflow failed:\n{proc.stderr[-4000:]}")
    return str(json.loads(proc.stdout.strip().splitlines()[-1])["experiment_id"])


# -- servers ---------------------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def mlflow_server(python: Path, db: Path, artifacts: Path, log: Path) -> Iterator[str]:
    port = free_port()
    mlflow_bin = python.parent / "mlflow"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                str(mlflow_bin),
                "server",
                "--backend-store-uri",
                f"sqlite:///{db}",
                "--default-artifact-root",
                str(artifacts),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=mlflow_env(),
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"mlflow server exited:\n{log.read_text()[-3000:]}")
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.3)
            else:
                raise RuntimeError(f"mlflow server did not start:\n{log.read_text()[-3000:]}")
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


# -- measuring -------------------------------------------------------------------------------
def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples), 1)


# Times are taken in the page, on its own clock (ms since navigation start), by a
# MutationObserver installed before any of the page's scripts: the same probe for both UIs,
# without the browser driver's polling delay.
PROBE = """
window.__probe = {};
window.__watch = (name, test) => {
  const check = () => { if (window.__probe[name] == null && test()) window.__probe[name] = performance.now(); };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
  check();
};
"""


def visits(browser: Any, repeats: int, visit: Callable[[Any], float]) -> list[float]:
    """Time ``visit(page)`` (ms) in a fresh context each time: a first visit, then ``repeats``.

    The first visit (element 0) finds the servers cold (SQLite pages, Python imports,
    Mainsail's cache of downsampled series); the median is taken over the others.
    """
    out = []
    for _ in range(repeats + 1):
        ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        ctx.add_init_script(PROBE)
        page = ctx.new_page()
        page.set_default_timeout(180_000)  # MLflow takes tens of seconds on 10,000 runs
        try:
            t = visit(page)
        finally:
            ctx.close()
        out.append(t)
    return out


def _wait(page: Any, name: str) -> float:
    try:
        page.wait_for_function(f"window.__probe && window.__probe[{name!r}] != null")
    except Exception:
        shot = Path(tempfile.gettempdir()) / "bench-ui-timeout.png"
        page.screenshot(path=str(shot))
        print(f"timed out waiting for {name} on {page.url}; screenshot: {shot}", file=sys.stderr)
        raise
    return float(page.evaluate(f"window.__probe[{name!r}]"))


def table_visible(url: str, text: str) -> Callable[[Any], float]:
    """From navigation start to ``text`` (the newest run's name) in the page."""

    def visit(page: Any) -> float:
        page.add_init_script(
            f"document.addEventListener('DOMContentLoaded', () => window.__watch('table', "
            f"() => document.body.textContent.includes({text!r})));"
        )
        page.goto(url, wait_until="commit")
        return _wait(page, "table")

    return visit


def filtered_query(base: str, filters: list[tuple[str, int]]) -> Callable[[Any], float]:
    """From the Enter key in the filter box to the table showing the filtered total."""
    state = {"i": 0}

    def visit(page: Any) -> float:
        page.goto(f"{base}/runs?experiment=bench")
        page.locator("[data-testid=runs-table] tbody tr").first.wait_for()
        text, total = filters[state["i"] % len(filters)]
        state["i"] += 1
        page.fill("[data-testid=filter]", text)
        page.evaluate(
            """n => {
              document.addEventListener('keydown', e => { if (e.key === 'Enter') window.__probe.enter = performance.now(); }, true);
              window.__watch('filtered', () => {
                const t = document.querySelector('[data-testid=runs-table]');
                return window.__probe.enter != null && t && t.dataset.total === String(n)
                  && !document.querySelector('.runs.stale');
              });
            }""",
            total,
        )
        page.keyboard.press("Enter")
        return _wait(page, "filtered") - float(page.evaluate("window.__probe.enter"))

    return visit


def chart_visit(base: str, payload: list[dict[str, Any]]) -> Callable[[Any], float]:
    """From navigation start to the 100,000-point series' chart drawn."""

    def visit(page: Any) -> float:
        def seen(r: Any) -> None:
            if "/metric-series" in r.url:
                body = r.body()
                payload.append({"bytes": len(body), "points": len(json.loads(body)["value"])})

        page.on("response", seen)
        page.add_init_script(
            "document.addEventListener('DOMContentLoaded', () => window.__watch('chart', "
            "() => !!document.querySelector('[data-testid=uplot-loss] canvas')));"
        )
        page.goto(f"{base}/runs/longseries?tab=charts", wait_until="commit")
        t = _wait(page, "chart")
        page.wait_for_load_state("networkidle")  # the payload listener saw the response
        return t

    return visit


def verdict(label: str, value: float, goal: str, ok: bool) -> dict[str, Any]:
    print(f"  {label:<52} {value:>10} {goal:<22} {'MET' if ok else 'MISSED'}")
    return {"figure": label, "value": value, "goal": goal, "met": ok}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from mainsail.server._process import ServerProcess

    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    mlflow_python = ensure_venv("mlflow")
    mlflow_version = subprocess.run(
        [str(mlflow_python), "-c", "import mlflow; print(mlflow.__version__)"],
        capture_output=True,
        text=True,
        env=mlflow_env(),
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp_s:
        tmp = Path(tmp_s)
        t = time.perf_counter()
        seed_mainsail(tmp / "mainsail", args.runs)
        print(
            f"seeded Mainsail: {args.runs} runs x {N_PARAMS} params x {N_METRICS} metrics + a "
            f"{LONG_POINTS:,}-point series in {time.perf_counter() - t:.0f} s",
            flush=True,
        )
        t = time.perf_counter()
        exp_id = seed_mlflow(mlflow_python, tmp / "mlflow.db", tmp / "mlruns", args.runs)
        print(
            f"seeded MLflow {mlflow_version}: the same runs in {time.perf_counter() - t:.0f} s",
            flush=True,
        )

        newest = f"run-{args.runs - 1:05d}"
        results: list[dict[str, Any]] = []
        payload: list[dict[str, Any]] = []
        # One server at a time: each UI is timed with only its own server on the machine.
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            with ServerProcess(tmp / "mainsail", "--no-auth", "--no-controllers") as ms:
                ms_runs = visits(
                    browser, args.repeats, table_visible(f"{ms.url}/runs?experiment=bench", newest)
                )
                filters = []
                for text in (
                    "metrics.m3 > 0.5",
                    "params.p1 = 'b' and metrics.m0 < 0.25",
                    "metrics.m7 <= 0.1",
                ):
                    r = httpx.get(
                        f"{ms.url}/api/v1/run-table",
                        params={"experiment": "bench", "filter": text, "limit": 1},
                    )
                    filters.append((text, int(r.json()["total"])))
                ms_filter = visits(browser, args.repeats, filtered_query(ms.url, filters))
                ms_chart = visits(browser, args.repeats, chart_visit(ms.url, payload))
            log = tmp / "mlflow.log"
            with mlflow_server(mlflow_python, tmp / "mlflow.db", tmp / "mlruns", log) as mf:
                mf_runs = visits(
                    browser,
                    args.repeats,
                    table_visible(f"{mf}/#/experiments/{exp_id}/runs", newest),
                )
            browser.close()

        runs_ms, runs_mf, filt, chart = (
            median_ms(x[1:]) for x in (ms_runs, mf_runs, ms_filter, ms_chart)
        )
        ratio = round(runs_mf / runs_ms, 2)
        most_points = max(x["points"] for x in payload)
        most_bytes = max(x["bytes"] for x in payload)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"\nload average (1, 5, 15 min) at the end: {load} on {os.cpu_count()} cores")
        print(
            f"\nUI bench: {args.runs:,} runs x {N_PARAMS} params x {N_METRICS} metrics; median of "
            f"{args.repeats} fresh-context visits; MLflow {mlflow_version} in the same run"
        )
        results.append(
            verdict("Mainsail runs page, table visible (ms)", runs_ms, "< 300 ms", runs_ms < 300)
        )
        print(f"  {'  first visit, servers cold (ms)':<52} {round(ms_runs[0], 1):>10}")
        print(f"  {'MLflow runs page, table visible (ms)':<52} {runs_mf:>10}")
        print(f"  {'  first visit, servers cold (ms)':<52} {round(mf_runs[0], 1):>10}")
        results.append(verdict("MLflow / Mainsail (x)", ratio, ">= 3x", ratio >= 3))
        results.append(verdict("filtered query, Enter to table (ms)", filt, "< 300 ms", filt < 300))
        results.append(
            verdict(
                f"{LONG_POINTS:,}-point series, chart visible (ms)", chart, "< 500 ms", chart < 500
            )
        )
        results.append(
            verdict(
                "points sent for that series", most_points, "<= a few thousand", most_points <= 5000
            )
        )
        print(f"  {'bytes sent for that series':<52} {most_bytes:>10}")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "runs": args.runs,
                        "mlflow": mlflow_version,
                        "mainsail_runs_ms": ms_runs,
                        "mlflow_runs_ms": mf_runs,
                        "filter_ms": ms_filter,
                        "chart_ms": ms_chart,
                        "payload": payload,
                        "results": results,
                    },
                    indent=2,
                )
            )
        return 0 if all(r["met"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
