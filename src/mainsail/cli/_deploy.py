"""``mainsail deploy``, ``mainsail rollout ...`` and ``mainsail endpoints ...``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from mainsail.cli._output import console, fmt_ms, print_json, table
from mainsail.core._ids import now_ms
from mainsail.core._uris import MODEL_FORMS

rollout = typer.Typer(help="Watch and steer rollouts: status, promote, pause, resume, abort.")
endpoints = typer.Typer(help="Endpoints: the names clients call, and their revisions.")

_STATE_STYLE = {
    "pending": "yellow",
    "progressing": "cyan",
    "paused": "magenta",
    "promoted": "green",
    "rolled_back": "red",
    "aborted": "red",
}
_CHECK_STYLE = {"pass": "green", "fail": "red", "inconclusive": "yellow"}


def _floats(text: str | None, what: str) -> list[float] | None:
    from mainsail.core._errors import InvalidValueError

    if text is None:
        return None
    try:
        return [float(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise InvalidValueError(
            f"{what} must be comma-separated numbers like 5,25,50,100. Got {text!r}."
        ) from None


def load_spec_file(path: Path) -> dict[str, Any]:
    """A rollout spec from YAML (or JSON); a top-level ``spec:`` key is unwrapped."""
    from mainsail.core._errors import InvalidValueError
    from mainsail.core._optional import import_optional

    if not path.is_file():
        raise InvalidValueError(f"No spec file at {path}. Give a YAML file with -f.")
    yaml = import_optional("yaml", extra="serve")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InvalidValueError(f"{path} is not valid YAML: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("spec"), dict):
        data = {**data["spec"], **({"strategy": data["strategy"]} if "strategy" in data else {})}
    if not isinstance(data, dict):
        raise InvalidValueError(
            f"{path} must hold a mapping of rollout fields (interval, steps, ...). Got {data!r}."
        )
    return data


def deploy(
    endpoint: Annotated[str, typer.Argument(help="Endpoint name (the V2 model name).")],
    model: Annotated[str, typer.Argument(help=f"Model address: {MODEL_FORMS}.")],
    strategy: Annotated[
        str | None,
        typer.Option(
            help="direct, canary, blue-green, ab, shadow or a plug-in strategy (default: the "
            "file's, else direct)."
        ),
    ] = None,
    file: Annotated[Path | None, typer.Option("-f", "--file", help="Rollout spec (YAML).")] = None,
    step_weight: Annotated[float | None, typer.Option(help="Canary weight added per step.")] = None,
    steps: Annotated[str | None, typer.Option(help="Canary weights, e.g. 5,25,50,100.")] = None,
    max_weight: Annotated[float | None, typer.Option(help="Highest canary weight.")] = None,
    interval: Annotated[float | None, typer.Option(help="Seconds per step.")] = None,
    threshold: Annotated[int | None, typer.Option(help="Failed checks before rollback.")] = None,
    max_p99_ms: Annotated[float | None, typer.Option(help="Largest allowed p99 latency.")] = None,
    min_success_rate: Annotated[float | None, typer.Option(help="Least non-5xx share.")] = None,
    weights: Annotated[str | None, typer.Option(help="A/B weights, e.g. 50,50.")] = None,
    key_field: Annotated[str | None, typer.Option(help="A/B: sticky by this input.")] = None,
    sample: Annotated[float | None, typer.Option(help="Shadow: share of requests copied.")] = None,
    smoke_url: Annotated[
        str | None,
        typer.Option(
            help="Blue-green: a data plane serving the endpoint (http://host:port); "
            "the controller sends the preview smoke requests there."
        ),
    ] = None,  # fmt: skip
    smoke_requests: Annotated[
        int | None, typer.Option(help="Blue-green: smoke requests per analysis.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the history).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Deploy MODEL to ENDPOINT, directly or progressively."""
    from mainsail.client._delivery import deploy as _deploy

    spec: dict[str, Any] = load_spec_file(file) if file else {}
    name = strategy or spec.pop("strategy", None) or "direct"
    spec.pop("strategy", None)
    flags = {
        "step_weight": step_weight,
        "steps": _floats(steps, "--steps"),
        "max_weight": max_weight,
        "interval": interval,
        "threshold": threshold,
        "max_p99_ms": max_p99_ms,
        "min_success_rate": min_success_rate,
        "weights": _floats(weights, "--weights"),
        "key_field": key_field,
        "sample": sample,
        "smoke_url": smoke_url,
        "smoke_requests": smoke_requests,
    }
    spec.update({k: v for k, v in flags.items() if v is not None})
    r = _deploy(endpoint, model, strategy=name, spec=spec, source="cli", reason=reason)
    if as_json:
        print_json(r.model_dump())
        return
    console.print(
        f"[bold]{endpoint}[/]: {r.strategy} rollout {r.id} is "
        f"[{_STATE_STYLE.get(r.state, 'white')}]{r.state}[/] — {r.message or ''}"
    )


def _render(endpoint: str) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    import mainsail

    ep = mainsail.get_endpoint(endpoint)
    r = mainsail.get_rollout(endpoint)
    parts: list[Any] = []
    head = Text.from_markup(f"[bold]{endpoint}[/] revision {ep.revision}")
    if r is not None:
        head.append_text(
            Text.from_markup(
                f" — rollout {r.id} ({r.strategy}) [{_STATE_STYLE.get(r.state, 'white')}]"
                f"{r.state}[/] step {r.step}, weight {r.weight:g}%, failed checks "
                f"{r.failed_checks}"
            )
        )
    parts.append(head)
    vt = Table(header_style="bold cyan", title="variants", title_justify="left")
    for c in ("name", "model", "weight", "role"):
        vt.add_column(c)
    for v in ep.variants:
        bar = "█" * int(v.weight / 5)
        vt.add_row(v.name, f"models:/{v.model}/{v.version}", f"{v.weight:5.1f}% {bar}", v.role)
    parts.append(vt)
    if r is not None:
        if r.message:
            parts.append(Text(r.message))
        waiting = r.waiting_for_controller(now_ms())
        if waiting:
            parts.append(Text(waiting, style="bold yellow"))
        smokes = [a for a in r.analysis if a["outcome"] == "smoke" and a.get("smoke")]
        if smokes:
            s = smokes[-1]["smoke"]
            parts.append(
                Text(
                    f"Smoke requests at step {smokes[-1]['step']}: {s['answered']} of "
                    f"{s['sent']} answered, {s['errors']} 5xx ({fmt_ms(smokes[-1]['ts'])})"
                )
            )
        analysed = [a for a in r.analysis if a["outcome"] != "smoke"]
        if analysed:
            last = analysed[-1]
            ct = Table(
                header_style="bold cyan",
                title=f"last analysis (step {last['step']}, {last['outcome']}, "
                f"{fmt_ms(last['ts'])})",
                title_justify="left",
            )
            for c in ("check", "status", "value", "threshold", "samples"):
                ct.add_column(c)
            for c in last["checks"]:
                style = _CHECK_STYLE.get(c["status"], "white")
                ct.add_row(
                    c["name"],
                    f"[{style}]{c['status']}[/]",
                    "-" if c["value"] is None else f"{c['value']:.4g}",
                    "-" if c["threshold"] is None else f"{c['threshold']:.4g}",
                    str(c["samples"]),
                )
            parts.append(ct)
    return Group(*parts)


@rollout.command("status")
def status(
    endpoint: str,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Live view until it ends.")] = False,
    every: Annotated[float, typer.Option(help="Refresh period with --watch (s).")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The endpoint's variants and its latest rollout with the last analysis."""
    import mainsail

    if as_json:
        r = mainsail.get_rollout(endpoint)
        print_json(
            {
                "endpoint": mainsail.get_endpoint(endpoint).model_dump(exclude={"history"}),
                "rollout": r.model_dump() if r else None,
                "waiting_for_controller": r.waiting_for_controller(now_ms()) if r else None,
            }
        )
        return
    if not watch:
        console.print(_render(endpoint))
        return
    from rich.live import Live

    with Live(_render(endpoint), console=console, refresh_per_second=4) as live:
        while True:
            time.sleep(every)
            live.update(_render(endpoint))
            r = mainsail.get_rollout(endpoint)
            if r is None or not r.active:
                break


def _show(r: Any) -> None:
    console.print(
        f"[bold]{r.endpoint}[/]: rollout {r.id} is [{_STATE_STYLE.get(r.state, 'white')}]"
        f"{r.state}[/] — {r.message or ''}"
    )


@rollout.command("promote")
def promote(
    endpoint: str,
    winner: Annotated[str | None, typer.Option(help="A/B: the winning arm (a or b).")] = None,
) -> None:
    """Promote the rollout's target now (A/B: declare --winner)."""
    import mainsail

    _show(mainsail.declare_winner(endpoint, winner) if winner else mainsail.promote(endpoint))


@rollout.command("pause")
def pause(endpoint: str) -> None:
    """Hold the rollout at its current weights."""
    import mainsail

    _show(mainsail.pause(endpoint))


@rollout.command("resume")
def resume(endpoint: str) -> None:
    """Continue a paused rollout."""
    import mainsail

    _show(mainsail.resume(endpoint))


@rollout.command("abort")
def abort(endpoint: str) -> None:
    """Stop the rollout; all traffic returns to stable."""
    import mainsail

    _show(mainsail.abort(endpoint))


@rollout.command("rollback")
def rollback(endpoint: str) -> None:
    """End the active rollout, or return to the previous revision."""
    import mainsail

    _show(mainsail.rollback(endpoint))


@rollout.command("report")
def report(
    endpoint: str,
    mde: Annotated[float | None, typer.Option(help="A/B: smallest difference of interest.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A/B: differences with CI, p-value and minimum sample size. Shadow: agreement, latency."""
    import mainsail

    r = mainsail.get_rollout(endpoint)
    kind = r.strategy if r is not None and r.strategy in ("ab", "shadow") else None
    if kind is None:
        for past in mainsail.list_rollouts(endpoint):
            if past.strategy in ("ab", "shadow"):
                kind = past.strategy
                break
    if kind is None:
        from mainsail.core._errors import RolloutStateError

        raise RolloutStateError(
            f"Endpoint {endpoint!r} has had no A/B or shadow rollout to report on. "
            f"Start one with mainsail deploy {endpoint} MODEL --strategy ab|shadow."
        )
    if kind == "ab":
        rep = mainsail.ab_report(endpoint, mde=mde)
        if as_json:
            print_json(rep.model_dump())
            return
        console.print(f"[bold]{endpoint}[/] A/B: requests {rep.requests}")
        table(
            None,
            ["metric", "test", "a", "b", "b - a", "CI", "p-value", "n/arm needed", "significant"],
            [
                [
                    c.metric,
                    c.test,
                    c.a,
                    c.b,
                    c.difference,
                    "-" if c.ci_low is None else f"[{c.ci_low:.4g}, {c.ci_high:.4g}]",
                    c.p_value,
                    c.min_sample_size,
                    "yes" if c.significant else "no",
                ]
                for c in rep.comparisons
            ],
        )
        return
    srep = mainsail.shadow_report(endpoint)
    if as_json:
        print_json(srep.model_dump())
        return
    table(
        f"{endpoint} shadow {srep.shadow} against {srep.stable}",
        ["compared", "agreement", "mean |diff|", "divergence", "p50 ms", "p99 ms",
         "stable p99 ms", "errors", "dropped"],
        [[srep.compared, srep.agreement, srep.mean_abs_diff, srep.divergence, srep.shadow_p50_ms,
          srep.shadow_p99_ms, srep.stable_p99_ms, srep.shadow_errors, srep.dropped]],
    )  # fmt: skip


@endpoints.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every endpoint with its current variants."""
    import mainsail

    eps = mainsail.list_endpoints()
    if as_json:
        print_json([e.model_dump(exclude={"history"}) for e in eps])
        return
    table(
        "endpoints",
        ["name", "revision", "variants", "updated"],
        [
            [
                e.name,
                e.revision,
                ", ".join(
                    f"{v.name}=models:/{v.model}/{v.version} {v.weight:g}%" for v in e.variants
                ),
                fmt_ms(e.updated_at),
            ]
            for e in eps
        ],
    )


@endpoints.command("show")
def show(
    name: str, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """One endpoint: its current variants and latest rollout."""
    import mainsail

    if as_json:
        print_json(mainsail.get_endpoint(name).model_dump(exclude={"history"}))
        return
    console.print(_render(name))


@endpoints.command("history")
def history(
    name: str, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Every revision of an endpoint, newest first."""
    import mainsail

    ep = mainsail.get_endpoint(name)
    if as_json:
        print_json([r.model_dump() for r in ep.history])
        return
    table(
        f"{name} revisions",
        ["revision", "created", "by", "strategy", "variants", "reason"],
        [
            [
                ("* " if r.revision == ep.revision else "") + str(r.revision),
                fmt_ms(r.created_at),
                r.created_by,
                r.strategy.get("name"),
                ", ".join(
                    f"{v.name}=models:/{v.model}/{v.version} {v.weight:g}%" for v in r.variants
                ),
                r.reason,
            ]
            for r in reversed(ep.history)
        ],
    )
