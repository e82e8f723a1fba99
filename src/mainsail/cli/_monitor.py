"""``mainsail monitor create|list|run|report|results`` and ``mainsail alerts list|resolve``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mainsail.cli._output import console, err_console, fmt_ms, print_json, table

monitor = typer.Typer(
    help="Monitors: drift, data quality, performance and operations.", no_args_is_help=True
)
alerts = typer.Typer(help="Alerts raised by monitors.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Monitor name.")]


def _csv(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


@monitor.command("create")
def create(
    endpoint: Annotated[str | None, typer.Argument(help="Endpoint to watch.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Monitor YAML.")] = None,
    name: NameOpt = "default",
    checks: Annotated[
        str | None, typer.Option(help="drift,quality,performance,operational")
    ] = None,
    window: str = "1h",
    interval: str = "5m",
    notifier: Annotated[
        list[str] | None, typer.Option("--notifier", help="log, webhook:URL, ...")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Registered model behind the endpoint.")] = None,
    max_drift_share: Annotated[
        float,
        typer.Option(
            "--max-drift-share",
            "--drift-share",  # its name before the rename
            help="The dataset drifts when this share of its features drift.",
        ),
    ] = 0.5,
) -> None:
    """Create or update a monitor from options or a YAML file."""
    from mainsail.client._monitoring import create_monitor, monitor_from_yaml
    from mainsail.core._errors import InvalidValueError

    if file is not None:
        made = monitor_from_yaml(file.read_text())
    elif endpoint is not None:
        made = [
            create_monitor(
                endpoint,
                name=name,
                checks=_csv(checks),
                window=window,
                interval=interval,
                notifiers=list(notifier) if notifier else None,
                model=model,
                max_drift_share=max_drift_share,
            )
        ]
    else:
        raise InvalidValueError("Give an ENDPOINT or --file monitor.yaml.")
    for m in made:
        console.print(
            f"Monitor [bold]{m.endpoint}/{m.name}[/] ({', '.join(m.spec.checks)}; window "
            f"{m.spec.window}, every {m.spec.interval})"
        )
    _warn_unknown_endpoints({m.endpoint for m in made})


def _warn_unknown_endpoints(names: set[str]) -> None:
    """A monitor on an endpoint nobody deployed watches nothing: say so (not silently 0)."""
    from mainsail.client._delivery import list_endpoints

    known = sorted(e.name for e in list_endpoints())
    for name in sorted(names - set(known)):
        err_console.print(
            f"[yellow]Warning:[/] no endpoint named {name!r} is deployed (endpoints: "
            f"{', '.join(known) or 'none yet'}), so this monitor sees no traffic until one is: "
            f"`mainsail deploy {name} models:/MODEL/VERSION`, or fix the name."
        )


@monitor.command("list")
def list_(endpoint: Annotated[str | None, typer.Argument()] = None, json: JsonOpt = False) -> None:
    """Monitors and when they ran."""
    from mainsail.client._monitoring import list_monitors

    ms = list_monitors(endpoint)
    if json:
        print_json([m.model_dump(mode="json") for m in ms])
        return
    table(
        None,
        ["endpoint", "name", "checks", "window", "interval", "enabled", "last run", "next run"],
        [
            [
                m.endpoint,
                m.name,
                ",".join(m.spec.checks),
                m.spec.window,
                m.spec.interval,
                m.enabled,
                fmt_ms(m.last_run_at),
                fmt_ms(m.next_run_at),
            ]
            for m in ms
        ],
    )


@monitor.command("run")
def run(
    endpoint: str,
    name: NameOpt = "default",
    window: Annotated[str | None, typer.Option(help="Override the window, e.g. 1h.")] = None,
    json: JsonOpt = False,
) -> None:
    """Evaluate a monitor now: store the result, update alerts, notify."""
    from mainsail.client._monitoring import run_monitor

    r = run_monitor(endpoint, name=name, window=window)
    if json:
        print_json(r.to_dict())
        return
    console.print(r.summary(), highlight=False, markup=False)
    raise typer.Exit(1 if r.status == "failed" else 0)


@monitor.command("results")
def results(
    endpoint: str,
    name: NameOpt = "default",
    limit: int = 20,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="Score keys to show.")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Stored results as a time series table."""
    from mainsail.client._monitoring import results_frame

    df = results_frame(endpoint, name, limit=limit)
    if json:
        print_json(df.to_dict(orient="records"))
        return
    if df.empty:
        console.print(f"No results for {endpoint}/{name} yet. Run: mainsail monitor run {endpoint}")
        return
    keys = (
        list(metric)
        if metric
        else [
            k
            for k in (
                "drift.share",
                "quality.issues",
                "performance.accuracy",
                "performance.rmse",
                "performance.coverage",
                "operational.latency_p99_ms",
                "operational.error_rate",
            )
            if k in df
        ]
    )
    table(
        f"{endpoint}/{name}",
        ["time", "status", "version", *keys],
        [
            [fmt_ms(int(r["ts"])), r["status"], r["model_version"], *[r.get(k) for k in keys]]
            for r in df.to_dict(orient="records")
        ],
    )


@monitor.command("report")
def report(
    endpoint: str,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="HTML file (JSON written next to it).")
    ] = Path("report.html"),
    name: NameOpt = "default",
    window: str | None = None,
) -> None:
    """A standalone HTML report (and JSON): distributions, drift, quality, performance over time."""
    from mainsail.client._monitoring import write_report

    html_path, json_path = write_report(endpoint, out, name=name, window=window)
    console.print(f"Wrote {html_path} and {json_path}")


@alerts.command("list")
def alerts_list(
    endpoint: Annotated[str | None, typer.Option(help="Only this endpoint.")] = None,
    state: Annotated[str | None, typer.Option(help="pending, firing or resolved.")] = None,
    json: JsonOpt = False,
) -> None:
    """Alerts, newest first."""
    from mainsail.client._monitoring import list_alerts

    items = list_alerts(endpoint, state)
    if json:
        print_json([a.model_dump(mode="json") for a in items])
        return
    table(
        None,
        [
            "id",
            "rule",
            "endpoint",
            "severity",
            "state",
            "value",
            "count",
            "first seen",
            "fired",
            "resolved",
        ],
        [
            [
                a.id,
                a.rule,
                a.endpoint,
                a.severity,
                a.state,
                a.value,
                a.count,
                fmt_ms(a.first_seen_at),
                fmt_ms(a.fired_at),
                fmt_ms(a.resolved_at),
            ]
            for a in items
        ],
    )


@alerts.command("resolve")
def alerts_resolve(alert_id: int) -> None:
    """Resolve an alert by hand."""
    from mainsail.client._monitoring import resolve_alert

    a = resolve_alert(alert_id)
    console.print(f"Alert #{a.id} ({a.rule} on {a.endpoint}) is {a.state}.")
