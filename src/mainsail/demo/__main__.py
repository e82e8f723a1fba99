"""``make demo``: the whole loop on the embedded default, on generated churn data.

train v1 → register → check → deploy → traffic → drift appears → alert → the automation
retrains v2 → checks against the champion → canary → promoted. Everything runs on this
machine: a real inference server process on 127.0.0.1, the controllers and a job worker in
this process, SQLite and a local folder under ``demo-out/``.

``python -m mainsail.demo --quick`` tells the same story with shorter waits: the monitor
runs every 2 s instead of 4, canary steps last 2 s instead of 4, and the pause that lets
the server flush day 1 is 2.5 s instead of 6 (the test suite runs it that way).

At the end the demo prints the web UI's address with the demo's data in it and serves it
until Ctrl+C when it runs in a terminal (``--ui`` forces that, ``--no-ui`` skips it); run
headless (no terminal, or ``CI=true``) it prints the command that opens the UI instead.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ENDPOINT = "churn"
FLAGS = ("--quick", "--ui", "--no-ui")
POLICY: dict[str, Any] = {
    "label": "churned",
    "metrics": {"roc_auc": {"min": 0.7}},
    "baseline": {"metric": "roc_auc", "margin": 0.0, "test": "bootstrap", "n_boot": 300},
    "robustness": {
        "noise": 0.1,
        "missing": None,
        "unseen": 0.05,
        "out_of_range": 0.05,
        "max_drop": 0.1,
    },
    "budgets": {"size_mb": 50, "load_memory_mb": 500},
    "schema": True,
}


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    args = sys.argv[1:] if argv is None else argv
    unknown = [a for a in args if a not in FLAGS]
    if unknown or {"--ui", "--no-ui"} <= set(args):
        print(
            f"Unknown argument(s) {unknown or ['--ui', '--no-ui']}: the demo takes only "
            "--quick (shorter waits, the same story) and one of --ui / --no-ui (serve the "
            "web UI at the end, or not; by default it does when run in a terminal).",
            file=sys.stderr,
        )
        return 2
    quick = "--quick" in args
    serve_ui = "--ui" in args or (
        "--no-ui" not in args and sys.stdout.isatty() and os.environ.get("CI") != "true"
    )
    # seconds between monitor runs and between canary steps; the pause after day 1
    tick, settle = (2, 2.5) if quick else (4, 6.0)

    out = Path.cwd() / "demo-out"
    if out.exists():
        shutil.rmtree(out)  # the demo always tells its story from the start
    out.mkdir(parents=True)
    home = out / ".mainsail"
    os.environ["MAINSAIL_HOME"] = str(home)
    # The server, the worker and this process share the cores: one native thread each
    # keeps OpenMP from spinning against itself. The variables must be set before OpenMP
    # and BLAS load (numpy and scikit-learn are not imported yet): they also reach the
    # server process and the job worker's thread, which threadpool_limits alone misses.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from threadpoolctl import threadpool_limits

    threads = os.environ["OMP_NUM_THREADS"]
    threadpool_limits(int(threads) if threads.isdigit() else None)  # anything loaded already

    import mainsail
    from mainsail.demo._data import make_churn
    from mainsail.demo._flows import retrain
    from mainsail.demo._loop import Background, Server, Traffic

    console = Console()
    t0 = time.monotonic()

    def say(msg: str) -> None:
        console.print(f"[dim]{time.monotonic() - t0:6.1f}s[/] {msg}")

    console.rule("[bold]Mainsail demo: the closed loop")
    say(f"home: {home} (SQLite + a local artifact folder)")

    # 1. history and v1 -------------------------------------------------------------------
    history = make_churn(6000, seed=1, drift=0.0)
    dv = mainsail.log_dataset(history, name="churn-live", description="labelled churn history")
    say(f"Logged [bold]{dv.address}[/] ({dv.row_count} labelled rows)")
    run = retrain.run(params={"dataset": "churn-live", "last_rows": 6000}, progress=True)
    v1 = mainsail.register_model(
        run.outputs["model"], name="churn", run=run.run_id, reference=run.outputs["reference"]
    )
    say(f"Pipeline run {run.id[:8]} trained and registered [bold]{v1.address}[/]")
    first = mainsail.check(
        v1.address, run.outputs["holdout"], policy=POLICY, out_dir=out / "checks-v1", progress=False
    )
    say(
        f"Release checks on v1: [bold]{first.verdict}[/] "
        f"({sum(c.status == 'pass' for c in first.checks)}/{len(first.checks)} passed)"
    )
    if not first.blessed:
        console.print(first.to_dict())
        return 1
    mainsail.set_alias("churn", "champion", v1.version, require_checks=True)
    mainsail.deploy(ENDPOINT, v1.address)
    say(f"Endpoint [bold]{ENDPOINT}[/] serves {v1.address} (@champion, blessed)")

    # 2. watch and automate ---------------------------------------------------------------
    mainsail.create_monitor(
        ENDPOINT,
        window="1m",
        interval=f"{tick}s",
        max_drift_share=0.3,
        checks=["drift", "quality", "performance", "operational"],
    )
    mainsail.create_automation(
        {
            "name": "churn-retrain",
            "endpoint": ENDPOINT,
            "model": "churn",
            "pipeline": "mainsail.demo._flows:retrain",
            "params": {"dataset": "churn-live", "last_rows": 3000},
            "triggers": [{"type": "drift_alert"}],
            "checks": {"policy": POLICY, "baseline": "@champion"},
            "rollout": {
                "strategy": "canary",
                "spec": {
                    "steps": [25, 50, 100],
                    "interval": tick,
                    "min_requests": 15,
                    "threshold": 2,
                    "max_p99_ms": 500,
                    "min_success_rate": 0.99,
                },
            },
            "cooldown": "10m",
        }
    )
    say(
        f"Monitor (drift, quality, performance, operational every {tick} s over 1 min) and "
        "automation churn-retrain (drift alert → retrain → checks vs @champion → canary)"
    )

    server = Server(ENDPOINT, home, out / "server.log")
    background = Background()
    traffic: Traffic | None = None
    try:
        server.wait_ready()
        say(f"Inference server ready at {server.url} (pid {server.proc.pid})")
        background.start()
        traffic = Traffic(server)

        # 3. a quiet day ------------------------------------------------------------------
        traffic.send(make_churn(1500, seed=2, drift=0.0))
        say(f"Day 1: {traffic.sent} requests of 10 rows, labels sent back as feedback")
        time.sleep(settle)
        _status(say, mainsail)

        # 4. the world drifts -------------------------------------------------------------
        drifted = make_churn(12000, seed=3, drift=1.0)
        labelled = drifted.iloc[:4000]
        mainsail.log_dataset(
            __import__("pandas").concat([history, labelled], ignore_index=True),
            name="churn-live",
            description="history + newly labelled drifted rows",
        )
        say(
            "Day 2: usage falls, prices rise, the plan mix shifts; 4000 newly labelled rows "
            "logged as datasets:/churn-live/2"
        )
        alert = _until(
            lambda: _firing(mainsail),
            traffic,
            drifted.iloc[4000:],
            150,
            on_tick=lambda: _monitor_progress(say),
        )
        if alert is None:
            say("[red]No drift alert fired; see the monitor report.[/]")
            return 1
        feats = ", ".join(
            f"{f['column']} ({f['test']} {f['effect_size']:.2f})"
            for f in alert.evidence.get("features", [])[:5]
        )
        say(f"[yellow]Alert[/] {alert.rule} ({alert.severity}) fired on {feats}")

        # 5. the loop closes --------------------------------------------------------------
        done = _until(
            lambda: _finished(mainsail),
            traffic,
            drifted.iloc[4000:],
            240,
            on_tick=lambda: _progress(say, mainsail),
        )
        final = mainsail.get_rollout(ENDPOINT)
        if done is None or final is None:
            say("[red]The automation did not finish in time.[/]")
            return 1
        say(f"Rollout {final.id}: [bold]{final.state}[/] ({final.message or ''})")
        _trail(console, mainsail)
        champion = mainsail.get_model_version("models:/churn@champion")
        say(
            f"@champion is now [bold]{champion.address}[/]; clients saw "
            f"{traffic.failed} failed of {traffic.sent} requests; variants {traffic.variants}"
        )
        _reports(out, mainsail)
        say(f"Reports: {out}/monitor-report.html, {out}/checks-v1/, model cards in {out}/")
        console.rule(
            f"Done in {time.monotonic() - t0:.0f} s — try: .venv/bin/mainsail automation show churn-retrain"
        )
        code = 0 if final.state == "promoted" else 1
    finally:
        if traffic is not None:
            traffic.close()
        background.stop()
        server.stop()
    open_ui(home, serve=serve_ui, say=say)
    return code


def open_ui(home: Path, *, serve: bool, say: Any, port: int = 8765) -> None:
    """Say where the web UI shows the demo's data; serve it there until Ctrl+C if ``serve``."""
    command = f"MAINSAIL_HOME={home} .venv/bin/mainsail ui"
    if not serve:
        say(f"See it all in the web UI: [bold]{command}[/] (then open http://127.0.0.1:{port}/)")
        return
    from mainsail.client._context import build_context
    from mainsail.core._errors import ConfigurationError
    from mainsail.core._settings import Settings
    from mainsail.ui import run_ui

    ctx = build_context(Settings(home=home))

    def ready(url: str) -> None:
        say(
            f"The web UI with the demo's data: [bold]{url}[/] (runs, models, the canary, the "
            "monitor; Ctrl+C stops it). Later: " + command
        )

    try:
        run_ui(ctx, port=port, on_ready=ready)
    except ConfigurationError:  # the port is taken: any free one
        run_ui(ctx, port=0, on_ready=ready)


def _firing(mainsail: Any) -> Any:
    alerts = [
        a for a in mainsail.list_alerts(endpoint=ENDPOINT, state="firing") if "drift" in a.rule
    ]
    return alerts[0] if alerts else None


def _finished(mainsail: Any) -> Any:
    auto = mainsail.get_automation("churn-retrain")
    if auto.in_flight or auto.state.get("last_outcome") is None:
        return None
    return auto.state["last_outcome"]


def _until(cond: Any, traffic: Any, frame: Any, timeout: float, on_tick: Any = None) -> Any:
    """Keep traffic flowing until ``cond()`` is true (or time runs out)."""
    deadline = time.monotonic() + timeout
    offset = 0
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        chunk = frame.iloc[offset : offset + 200]
        offset = (offset + 200) % max(len(frame) - 200, 1)
        traffic.send(chunk, seconds=2.0)
        if on_tick is not None:
            on_tick()
    return None


_seen: set[str] = set()


def _progress(say: Any, mainsail: Any) -> None:
    for e in mainsail.automation_trail("churn-retrain"):
        key = f"{e.id}"
        if key in _seen or e.status in ("suppressed", "requested"):
            continue
        _seen.add(key)
        detail = e.detail.get("summary") or e.detail.get("verdict") or e.detail.get("address") or ""
        say(f"  automation: [cyan]{e.status}[/] {detail}")
    r = mainsail.get_rollout(ENDPOINT)
    if r is not None and r.strategy == "canary" and r.state == "progressing":
        last = (r.analysis or [{}])[-1]
        key = f"rollout:{r.id}:{r.step}:{last.get('outcome')}"
        if key not in _seen:
            _seen.add(key)
            checks = ", ".join(
                f"{c['name']} {c['status']} (n={c.get('samples')})" for c in last.get("checks", [])
            )
            say(f"  canary at {r.weight:g}%: {last.get('outcome', 'starting')} — {checks}")


def _monitor_progress(say: Any) -> None:
    from mainsail.client._monitoring import list_results

    results = list_results(ENDPOINT, limit=1)
    if not results or f"monitor:{results[0].ts}" in _seen:
        return
    r = results[0]
    _seen.add(f"monitor:{r.ts}")
    share = r.scores.get("drift.share")
    say(
        f"  monitor: {r.status}, share of drifted features "
        f"{share if share is None else f'{share:.2f}'}"
    )


def _status(say: Any, mainsail: Any) -> None:
    try:
        result = mainsail.run_monitor(ENDPOINT)
        say(f"Monitor: [bold]{result.status}[/]")
    except Exception as exc:  # noqa: BLE001 - the demo goes on
        say(f"Monitor: {exc}")


def _trail(console: Any, mainsail: Any) -> None:
    from mainsail.cli._output import fmt_ms, table

    rows = []
    for e in mainsail.automation_trail("churn-retrain"):
        if e.status in ("suppressed", "requested"):
            continue
        links = " ".join(
            x
            for x in [
                f"job {e.job_id}" if e.job_id else "",
                f"pipeline {e.pipeline_run_id[:8]}" if e.pipeline_run_id else "",
                f"v{e.model_version}" if e.model_version else "",
                f"check {e.check_result_id}" if e.check_result_id else "",
                f"rollout {e.rollout_id}" if e.rollout_id else "",
            ]
            if x
        )
        rows.append([fmt_ms(e.ts), e.trigger, e.status, links])
    table(
        "Audit trail: trigger → pipeline → version → checks → rollout",
        ["time", "trigger", "status", "links"],
        rows,
    )


def _reports(out: Path, mainsail: Any) -> None:
    from mainsail.client._monitoring import write_report
    from mainsail.registry import render_html

    write_report(ENDPOINT, out / "monitor-report.html")
    for mv in mainsail.list_model_versions("churn"):
        (out / f"model-card-v{mv.version}.html").write_text(render_html(mv))


if __name__ == "__main__":
    sys.exit(main())
