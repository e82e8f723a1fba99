"""``mainsail audit``: who did what to which object, when, from where, with what result."""

from __future__ import annotations

from typing import Annotated

import typer

from mainsail.cli._output import fmt_ms, print_json, table


def audit(
    actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    action: Annotated[str | None, typer.Option(help="Action prefix, e.g. 'models.'.")] = None,
    target: Annotated[str | None, typer.Option(help="Target prefix, e.g. 'runs/'.")] = None,
    limit: Annotated[int, typer.Option(help="Newest events to show.")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the audit log: who did what to which object, when, from where, with what result."""
    from mainsail.client import get_context

    found = get_context().store.list_audit_events(actor, action, target, None, limit)
    if as_json:
        print_json([e.model_dump() for e in found])
        return
    table(
        "Audit events (newest first)",
        ["time", "actor", "action", "target", "status", "client"],
        [(fmt_ms(e.ts), e.actor, e.action, e.target, e.status, e.client) for e in found],
    )
