"""Command line: ``mainsail experiments|runs|datasets|gc|doctor ...`` (Typer + Rich)."""

from mainsail.cli._app import app, main

__all__ = ["app", "main"]
