"""``mainsail experiments`` and ``mainsail runs``."""

from __future__ import annotations

from typing import Annotated

import typer

from mainsail.cli._output import console, fmt_ms, fmt_value, print_json, status, table

experiments = typer.Typer(help="Experiments: named groups of runs.", no_args_is_help=True)
runs = typer.Typer(help="Runs: list, show and compare.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@experiments.command("list")
def experiments_list(as_json: JsonOpt = False) -> None:
    """List experiments with their run counts."""
    from mainsail.client import get_context
    from mainsail.tracking._stored import list_experiments

    exps = list_experiments(get_context())
    if as_json:
        print_json([e.model_dump() for e in exps])
        return
    table(
        "Experiments",
        ["name", "runs", "created"],
        [(e.name, e.run_count, fmt_ms(e.created_at)) for e in exps],
    )


@runs.command("list")
def runs_list(
    experiment: Annotated[
        list[str] | None, typer.Option("--experiment", "-e", help="Experiment name (repeatable).")
    ] = None,
    filter: Annotated[
        str | None,
        typer.Option("--filter", "-f", help="e.g. \"metrics.auc > 0.9 and params.depth = '3'\""),
    ] = None,
    order_by: Annotated[
        list[str] | None, typer.Option("--order-by", "-o", help="e.g. 'metrics.auc DESC'")
    ] = None,
    max_results: Annotated[int, typer.Option("--max", "-n", help="At most this many runs.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List runs, newest first, filtered like search_runs."""
    from mainsail.client import find_runs

    found = find_runs(experiment or None, filter, order_by, max_results)
    if as_json:
        print_json([r.model_dump() for r in found])
        return
    metric_keys = sorted({k for r in found for k in r.metrics})[:6]
    param_keys = sorted({k for r in found for k in r.params})[:6]
    rows: list[list[object]] = [
        [r.id[:12], r.experiment, r.name, status(r.status), fmt_ms(r.start_time)]
        + [r.params.get(k) for k in param_keys]
        + [r.metrics.get(k) for k in metric_keys]
        for r in found
    ]
    table(
        f"Runs ({len(found)})",
        ["run", "experiment", "name", "status", "started"] + param_keys + metric_keys,
        rows,
    )


@runs.command("show")
def runs_show(run_id: str, as_json: JsonOpt = False) -> None:
    """Show one run: status, params, metrics, tags, artifacts, inputs, environment."""
    from mainsail.client import get_context
    from mainsail.tracking._stored import resolve_run

    ctx = get_context()
    run = resolve_run(ctx, run_id)
    env = ctx.store.get_environment(run.env_digest) if run.env_digest else None
    if as_json:
        print_json({**run.model_dump(), "environment": env})
        return
    console.print(f"[bold]Run {run.id}[/]  {status(run.status)}")
    info = [
        ("experiment", run.experiment),
        ("name", run.name),
        ("started", fmt_ms(run.start_time)),
        ("ended", fmt_ms(run.end_time)),
        ("source", run.source),
        ("git", f"{run.git_commit or '-'}{' (dirty)' if run.git_dirty else ''}"),
        ("seed", run.seed),
        ("python", env.get("python") if env else None),
    ]
    table(None, ["field", "value"], info)
    if run.params:
        table("Params", ["key", "value"], sorted(run.params.items()))
    if run.metrics:
        table("Metrics (latest)", ["key", "value"], sorted(run.metrics.items()))
    if run.tags:
        table("Tags", ["key", "value"], sorted(run.tags.items()))
    if run.artifacts:
        table(
            "Artifacts",
            ["path", "kind", "size", "digest"],
            [(a.path, a.kind, a.size, a.digest[:12]) for a in run.artifacts],
        )
    if run.inputs:
        table("Inputs", ["dataset", "context"], [(i.address, i.context) for i in run.inputs])


@runs.command("compare")
def runs_compare(run_ids: list[str], as_json: JsonOpt = False) -> None:
    """Compare runs side by side: params and metrics that differ are highlighted."""
    from mainsail.client import get_context
    from mainsail.tracking._stored import resolve_run

    ctx = get_context()
    found = [resolve_run(ctx, r) for r in run_ids]
    if as_json:
        print_json([r.model_dump() for r in found])
        return
    rows = []
    for kind in ("params", "metrics"):
        keys = sorted({k for r in found for k in getattr(r, kind)})
        for k in keys:
            values = [getattr(r, kind).get(k) for r in found]
            differs = len({fmt_value(v) for v in values}) > 1
            label = f"[bold yellow]{kind}.{k}[/]" if differs else f"{kind}.{k}"
            rows.append([label, *values])
    table("Comparison", ["key"] + [r.id[:12] for r in found], rows)
