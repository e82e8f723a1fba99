"""``mainsail db upgrade``: migrate the metadata database to this version's schema."""

from __future__ import annotations

import typer

from mainsail.cli._output import console

db = typer.Typer(help="The metadata database: schema upgrades.")


@db.command("upgrade")
def db_upgrade() -> None:
    """Migrate the metadata database to this version's schema (safe to run twice)."""
    from mainsail.core._settings import get_settings
    from mainsail.store import SCHEMA_REVISION, Database

    settings = get_settings()
    database = Database(settings.resolved_database_url())  # migrates under a lock
    try:
        console.print(
            f"Schema at revision {database.current_revision()} (this version: {SCHEMA_REVISION})."
        )
    finally:
        database.dispose()
