"""``mainsail controllers run``: the leader loop on its own, without the HTTP server."""

from __future__ import annotations

import logging
import signal
from typing import Annotated

import typer

from mainsail.cli._output import console

controllers = typer.Typer(help="Run the controllers (rollouts, monitors, automations).")


@controllers.command("run")
def run(
    only: Annotated[
        str | None,
        typer.Option("--only", help="Comma-separated controller names; default: all."),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Tick each controller once and exit.")
    ] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between loop wake-ups.")] = 0.5,
) -> None:
    """Elect a leader (PostgreSQL advisory lock or a file lock) and run the controllers."""
    from mainsail.client import get_context
    from mainsail.controllers import ControllerManager

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    names = [n.strip() for n in only.split(",") if n.strip()] if only else None
    manager = ControllerManager(get_context(), names=names, poll_s=poll)
    if once:
        if not manager.run_once():
            console.print("Another process is the leader; nothing ran.")
            raise typer.Exit(1)
        for name, err in manager.errors.items():
            console.print(f"[red]{name}[/]: {err}")
        raise typer.Exit(1 if manager.errors else 0)
    signal.signal(signal.SIGTERM, lambda *_: manager._stop.set())
    console.print(f"Controllers running: {', '.join(c.name for c in manager.controllers())}")
    try:
        manager.run_forever()
    except KeyboardInterrupt:
        pass
