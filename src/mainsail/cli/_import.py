"""``mainsail import mlflow``: copy an MLflow store into Mainsail, idempotently."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from mainsail.cli._output import console, err_console

imports = typer.Typer(help="Import from other tools.", no_args_is_help=True)


@imports.command("mlflow")
def import_mlflow(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="The MLflow tracking database (sqlite:///mlflow.db, postgresql://...) or a "
            "running MLflow server (http://host:5000; MLFLOW_TRACKING_TOKEN if it needs one).",
        ),
    ],
    experiments: Annotated[
        list[str] | None,
        typer.Option("--experiments", help="Only these experiments (repeat the option)."),
    ] = None,
    models: Annotated[
        list[str] | None,
        typer.Option("--models", help="Only these registered models (repeat the option)."),
    ] = None,
) -> None:
    """Copy MLflow experiments, runs, artifacts and registered models; re-run to add new ones."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    from mainsail.client import get_context
    from mainsail.tracking._mlflow_import import import_mlflow as run_import

    ctx = get_context()
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done)

        s = run_import(ctx, source, experiments or None, models or None, progress)
    took = time.perf_counter() - started
    console.print(
        f"Imported {s.experiments} experiment(s), {s.runs} run(s) ({s.runs_existing} already "
        f"there), {s.metric_points} metric points, {s.params} params, {s.artifacts} artifact "
        f"file(s), {s.model_versions} model version(s) ({s.model_versions_existing} already "
        f"there), {s.aliases} alias(es) in {took:.1f} s."
    )
    if s.skipped:
        err_console.print(f"[yellow]Skipped {len(s.skipped)} item(s):[/]")
        for line in s.skipped[:20]:
            err_console.print(f"  {line}")
        if len(s.skipped) > 20:
            err_console.print(f"  ... and {len(s.skipped) - 20} more")
