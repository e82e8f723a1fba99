"""``mainsail loadtest``: a capacity curve for a model version, an endpoint or a URL."""

from __future__ import annotations

from html import escape as html_escape
from pathlib import Path
from typing import Annotated

import typer

from mainsail.cli._output import console, print_json, table


def register(app: typer.Typer) -> None:
    app.command("loadtest")(loadtest)


def loadtest(
    target: Annotated[
        str,
        typer.Argument(
            help="A model address (models:/churn@champion: a server is started for it), an "
            "endpoint name (its stable version is served), or the URL of a running server."
        ),
    ],
    concurrency: Annotated[
        str | None,
        typer.Option(help="Users per step, sending back to back, e.g. 1,4,16 (the default)."),
    ] = None,
    rate: Annotated[
        str | None, typer.Option(help="Target requests/s per step instead, e.g. 100,500.")
    ] = None,
    duration: Annotated[float, typer.Option(help="Measured seconds per step.")] = 10.0,
    warmup: Annotated[float, typer.Option(help="Seconds of load before each measurement.")] = 1.0,
    rows: Annotated[int, typer.Option("--rows", help="Rows per request.")] = 1,
    workers: Annotated[int, typer.Option(help="Server worker processes (started servers).")] = 1,
    data: Annotated[
        Path | None,
        typer.Option(help="CSV or Parquet rows to send (default: the version's reference data)."),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(help="With a URL: the model version to sample rows from and store on."),
    ] = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not store the curve on the model version.")
    ] = False,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write the chart here (default build/loadtest/NAME.html)."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds before one request fails.")] = 10.0,
    traffic: Annotated[
        float | None,
        typer.Option(help="With --p99-ms: recommend workers, replicas and cost for this req/s."),
    ] = None,
    p99_ms: Annotated[
        float | None, typer.Option("--p99-ms", help="The p99 budget (ms) for the recommendation.")
    ] = None,
    no_log: Annotated[
        bool, typer.Option("--no-log", help="The started server does not log predictions.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the curve as JSON.")] = False,
) -> None:
    """Drive a real server with rising load; report throughput vs p50/p99, errors, CPU, memory."""
    from mainsail.client import get_context
    from mainsail.core._capacity import Prices, parse_levels
    from mainsail.core._errors import InvalidValueError
    from mainsail.serving._capacity_report import POINT_COLUMNS, point_rows, render_html
    from mainsail.serving._loadtest import load_test, plan_steps

    levels = parse_levels(concurrency, "--concurrency") if concurrency else None
    rates = [float(r) for r in parse_levels(rate, "--rate")] if rate else None
    plan_steps(levels, rates, duration, warmup, rows, workers)  # bad settings: say so first
    if (traffic is None) != (p99_ms is None):
        raise InvalidValueError(
            "A recommendation needs both --traffic (requests/s) and --p99-ms (the budget)."
        )
    if not as_json:
        steps = f"rates {rate} requests/s" if rates else f"concurrency {concurrency or '1,4,16'}"
        console.print(
            f"Load test of {target}: {steps}, {duration:g} s per step "
            f"(+{warmup:g} s warm-up), {rows} row(s) per request",
            highlight=False,
        )

    def progress(p):  # type: ignore[no-untyped-def]
        if not as_json:
            load = f"{p.target_rps:g}/s" if p.target_rps is not None else f"c={p.concurrency}"
            p99 = f"{p.p99_ms:.1f} ms" if p.p99_ms is not None else "-"
            console.print(
                f"  {load}: {p.rps:.0f} req/s, p99 {p99}, {p.errors} errors", highlight=False
            )

    ctx = get_context()
    curve = load_test(
        ctx,
        target,
        concurrency=levels,
        rate=rates,
        duration_s=duration,
        warmup_s=warmup,
        rows_per_request=rows,
        workers=workers,
        data=data,
        version=version,
        store=not no_store,
        timeout_s=timeout,
        log_predictions=not no_log,
        on_point=progress,
    )
    name = f"{curve.model}-v{curve.version}-w{curve.workers or 0}" if curve.model else "capacity"
    out = html or Path("build/loadtest") / f"{name}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    extra, rec = "", None
    if traffic is not None and p99_ms is not None:
        from mainsail.packaging import recommend

        rec = recommend([curve], traffic, p99_ms, Prices.from_settings(ctx.settings))
        extra = f"<h2>Recommendation</h2><p>{html_escape(rec.summary())}</p>"
    out.write_text(render_html(curve, p99_budget_ms=p99_ms, extra=extra))
    if as_json:
        print_json(curve.model_dump(mode="json"))
        return
    table(
        f"Capacity of {curve.model} v{curve.version}" if curve.model else "Capacity",
        POINT_COLUMNS,
        point_rows(curve),
    )
    for p in curve.points:
        if p.shortfall:
            console.print(f"[bold yellow]Rate not delivered:[/] {p.shortfall}", highlight=False)
    if rec is not None:
        console.print(f"[bold]Recommendation:[/] {rec.summary()}", highlight=False)
        for note in rec.notes:
            console.print(f"  note: {note}", highlight=False)
    console.print(f"Chart: {out}", highlight=False)
    if curve.model and not no_store:
        console.print(
            f"Stored on models:/{curve.model}/{curve.version} "
            f"({curve.workers or '?'} worker(s)); release checks read it with "
            "'capacity: {p99_ms: ..., min_rps: ...}'.",
            highlight=False,
        )
