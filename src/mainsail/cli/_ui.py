"""``mainsail ui``: the web UI over the embedded store (SQLite and a folder), no login."""

from __future__ import annotations

from typing import Annotated

import typer

from mainsail.cli._output import err_console


def ui(
    host: Annotated[
        str, typer.Option(help="Interface to bind (loopback unless --allow-remote).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind (0: any free port).")] = 8765,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote", help="Allow a non-loopback --host (no login: anyone is admin)."
        ),
    ] = False,
    controllers: Annotated[
        bool,
        typer.Option(
            "--controllers/--no-controllers", help="Also run rollouts, monitors, automations."
        ),
    ] = False,
) -> None:
    """Open the web UI on this machine's Mainsail home (MAINSAIL_HOME), without login.

    A team shares one 'mainsail server' instead: the same UI at its address, behind tokens.
    """
    from mainsail.client._context import build_context
    from mainsail.core._settings import get_settings
    from mainsail.ui import run_ui

    settings = get_settings().model_copy(update={"tracking_uri": None})
    ctx = build_context(settings)
    run_ui(
        ctx,
        host=host,
        port=port,
        allow_remote=allow_remote,
        controllers=controllers,
        on_ready=lambda url: err_console.print(f"Mainsail UI at {url} (no login; Ctrl+C stops it)"),
    )
