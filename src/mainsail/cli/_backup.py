"""``mainsail backup`` and ``mainsail restore``: every metadata table, and the blob manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mainsail.cli._output import console, err_console


def backup(
    out: Annotated[Path, typer.Argument(help="Folder to write (must not exist or be empty).")],
) -> None:
    """Write every metadata table and the artifact manifest (digest, size) to a folder."""
    from mainsail.client import get_context

    ctx = get_context()
    report = ctx.database("A backup").backup(ctx.artifacts, out)
    console.print(
        f"Backed up {report.rows} rows from {report.tables} tables and a manifest of "
        f"{report.blobs} artifact blobs to {out}."
    )


def restore(
    folder: Annotated[Path, typer.Argument(help="A folder written by 'mainsail backup'.")],
) -> None:
    """Load a backup into an empty database and check its artifacts are all present."""
    from mainsail.client import get_context

    ctx = get_context()
    report = ctx.database("A restore").restore(ctx.artifacts, folder)
    console.print(f"Restored {report.rows} rows into {report.tables} tables.")
    if report.missing:
        err_console.print(
            f"[yellow]{len(report.missing)} artifact blob(s) in the manifest are not in the "
            "artifact store[/] (copy the artifact storage too); first: " + report.missing[0]
        )
        raise typer.Exit(2)
