"""``mainsail backup`` and ``mainsail restore``: every metadata table, the artifact blobs and
their manifest; restore verifies first and is all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mainsail.cli._output import console, err_console


def backup(
    out: Annotated[Path, typer.Argument(help="Folder to write (must not exist or be empty).")],
    no_blobs: Annotated[
        bool,
        typer.Option(
            "--no-blobs",
            help="Do not copy the artifact blobs (copy the artifact storage yourself).",
        ),
    ] = False,
) -> None:
    """Write every metadata table (one consistent snapshot), every artifact blob and a
    manifest with their hashes to a folder."""
    from mainsail.client import get_context

    ctx = get_context()
    report = ctx.database("A backup").backup(ctx.artifacts, out, copy_blobs=not no_blobs)
    what = (
        f"{report.blobs} artifact blobs ({report.blob_bytes / 1e6:.1f} MB)"
        if report.blobs_copied
        else f"a manifest of {report.blobs} artifact blobs"
    )
    console.print(f"Backed up {report.rows} rows from {report.tables} tables and {what} to {out}.")
    if not report.blobs_copied:
        err_console.print(
            "[bold yellow]The artifact blobs were NOT copied (--no-blobs).[/] This backup "
            "restores only next to a copy of the artifact storage: copy "
            f"{ctx.artifacts.root_url} with its own tools (cp -a, rsync, aws s3 sync) now."
        )


def restore(
    folder: Annotated[Path, typer.Argument(help="A folder written by 'mainsail backup'.")],
) -> None:
    """Verify a backup, then load it into an empty database and the artifact store: all or
    nothing (nothing is written if any check fails)."""
    from mainsail.client import get_context

    ctx = get_context()
    report = ctx.database("A restore").restore(ctx.artifacts, folder)
    console.print(
        f"Restored {report.rows} rows into {report.tables} tables and {report.blobs} "
        "artifact blob(s)."
    )
