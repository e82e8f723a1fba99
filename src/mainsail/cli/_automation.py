"""``mainsail automation``: declare, list, inspect the trail, run by hand, approve."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mainsail.cli._output import console, fmt_ms, print_json, table

automation = typer.Typer(help="Automations: trigger → retrain → checks → canary, with guards.")

_STATUS = {
    "triggered": "yellow",
    "suppressed": "dim",
    "awaiting_approval": "magenta",
    "rejected": "red",
    "failed": "red",
    "rolled_back": "red",
    "aborted": "red",
    "promoted": "green",
    "checked": "cyan",
}


@automation.command("create")
def create(
    file: Annotated[Path, typer.Option("-f", "--file", help="Automation YAML.")],
) -> None:
    """Declare or replace an automation from a YAML file."""
    from mainsail.client import _automation as auto

    a = auto.create_automation(file)
    kinds = ", ".join(t.type for t in a.spec.triggers)
    console.print(
        f"Automation [bold]{a.name}[/] on endpoint {a.endpoint}: triggers {kinds}; "
        f"cooldown {a.spec.cooldown:g}s; rollout {a.spec.rollout.strategy}."
    )


@automation.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every automation with its state."""
    from mainsail.client import _automation as auto

    items = auto.list_automations()
    if as_json:
        print_json([a.model_dump(mode="json") for a in items])
        return
    table(
        "Automations",
        ["name", "endpoint", "enabled", "triggers", "in flight", "last triggered", "last outcome"],
        [
            [
                a.name,
                a.endpoint,
                a.enabled,
                ", ".join(t.type for t in a.spec.triggers),
                f"job {a.in_flight['job_id']}" if a.in_flight else "-",
                fmt_ms(a.last_triggered_at),
                a.state.get("last_outcome"),
            ]
            for a in items
        ],
    )


@automation.command("show")
def show(
    name: str,
    limit: Annotated[int, typer.Option("--limit", help="Most recent events to show.")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The audit trail: trigger → job → pipeline run → version → checks → rollout."""
    from mainsail.client import _automation as auto

    a = auto.get_automation(name)
    events = auto.automation_trail(name, limit=limit)
    if as_json:
        print_json(
            {"automation": a.model_dump(mode="json"), "events": [e.model_dump() for e in events]}
        )
        return
    console.print(
        f"[bold]{a.name}[/] → endpoint {a.endpoint}, model {a.spec.model}, "
        f"pipeline {a.spec.pipeline}"
    )
    rows = []
    for e in events:
        links = [
            f"job {e.job_id}" if e.job_id else "",
            f"pipeline {e.pipeline_run_id[:8]}" if e.pipeline_run_id else "",
            f"v{e.model_version}" if e.model_version else "",
            f"check {e.check_result_id}" if e.check_result_id else "",
            f"rollout {e.rollout_id}" if e.rollout_id else "",
        ]
        detail = (
            e.detail.get("summary")
            or e.detail.get("reason")
            or e.detail.get("verdict")
            or _last_line(e.detail.get("error"))  # why it failed, not an empty cell
            or ""
        )
        style = _STATUS.get(e.status, "white")
        rows.append(
            [
                fmt_ms(e.ts),
                e.trigger,
                f"[{style}]{e.status}[/]",
                " ".join(x for x in links if x),
                str(detail),
            ]
        )
    table("Trail", ["time", "trigger", "status", "links", "detail"], rows)


def _last_line(error: object, most: int = 300) -> str:
    """A step's error may be a traceback: its last line says what went wrong."""
    lines = [x for x in str(error or "").strip().splitlines() if x.strip()]
    text = lines[-1].strip() if lines else ""
    return text if len(text) <= most else text[:most] + "…"


@automation.command("run")
def run(
    name: str,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Ask for a retraining now (the controller starts it unless one is in flight)."""
    from mainsail.client import _automation as auto

    auto.trigger_automation(name, reason=reason)
    console.print(f"Requested a run of [bold]{name}[/]; the controller starts it on its next tick.")


@automation.command("approve")
def approve(name: str) -> None:
    """Approve the firing waiting for approval."""
    from mainsail.client import _automation as auto

    auto.approve_automation(name)
    console.print(f"Approved [bold]{name}[/]; the controller starts it on its next tick.")


@automation.command("enable")
def enable(name: str) -> None:
    from mainsail.client import _automation as auto

    auto.set_automation_enabled(name, True)
    console.print(f"{name}: enabled")


@automation.command("disable")
def disable(name: str) -> None:
    from mainsail.client import _automation as auto

    auto.set_automation_enabled(name, False)
    console.print(f"{name}: disabled")
