"""``mainsail datasets list|show|validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mainsail.cli._output import console, fmt_ms, print_json, table

datasets = typer.Typer(help="Dataset versions: list, show, validate.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@datasets.command("list")
def datasets_list(
    name: Annotated[str | None, typer.Argument(help="Show the versions of this dataset.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List datasets, or the versions of one."""
    from mainsail.client import get_context
    from mainsail.data import list_dataset_versions, list_datasets

    ctx = get_context()
    if name is None:
        found = list_datasets(ctx)
        if as_json:
            print_json([d.model_dump() for d in found])
            return
        table(
            "Datasets",
            ["name", "versions", "latest", "created"],
            [(d.name, d.versions, d.latest, fmt_ms(d.created_at)) for d in found],
        )
        return
    versions = list_dataset_versions(ctx, name)
    if as_json:
        print_json([v.model_dump(exclude={"profile"}, by_alias=True) for v in versions])
        return
    table(
        f"Versions of {name}",
        ["address", "rows", "columns", "digest", "created"],
        [
            (
                v.address,
                v.row_count,
                len(v.schema_.get("columns", [])),
                v.digest[:12],
                fmt_ms(v.created_at),
            )
            for v in versions
        ],
    )


@datasets.command("show")
def datasets_show(address: str, as_json: JsonOpt = False) -> None:
    """Show a dataset version: schema, profile summary and lineage."""
    from mainsail.client import get_dataset

    dv = get_dataset(address)
    if as_json:
        print_json(dv.model_dump(by_alias=True))
        return
    console.print(f"[bold]{dv.address}[/]  {dv.row_count} rows  digest {dv.digest[:16]}")
    if dv.source:
        console.print(f"source: {dv.source}")
    if dv.parents:
        console.print("parents: " + ", ".join(dv.parents))
    profile_cols = dv.profile.get("columns", {})
    rows = []
    for col in dv.schema_.get("columns", []):
        prof = profile_cols.get(col["name"], {})
        count = prof.get("count", 0) + prof.get("missing", 0)
        missing = prof.get("missing", 0) / count if count else 0.0
        rng = "-"
        if col.get("min") is not None:
            rng = f"{col['min']:.4g} .. {col['max']:.4g}"
        elif col.get("categories"):
            cats = col["categories"]
            rng = ", ".join(cats[:5]) + (f" (+{len(cats) - 5})" if len(cats) > 5 else "")
        rows.append(
            (col["name"], col["dtype"], "yes" if col["nullable"] else "no", f"{missing:.1%}", rng)
        )
    table("Schema", ["column", "dtype", "nullable", "missing", "range / categories"], rows)


@datasets.command("validate")
def datasets_validate(
    path: Annotated[Path, typer.Argument(help="A Parquet, CSV or JSON file to check.")],
    against: Annotated[
        str, typer.Option("--against", "-a", help="e.g. datasets:/transactions@latest")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Validate a file against a dataset version's schema; exit code 1 on violations."""
    from mainsail.client import validate
    from mainsail.data._datasets import read_table

    report = validate(read_table(path), against)
    if as_json:
        print_json(report.to_dict())
    elif report.ok:
        console.print(f"[green]OK[/]: {path} matches {against} ({report.row_count} rows).")
    else:
        table(
            f"{len(report.violations)} violation(s) in {path} against {against}",
            ["column", "kind", "count", "expected", "found", "examples"],
            [
                (
                    v.column,
                    v.kind,
                    v.count,
                    v.expected,
                    v.found,
                    "; ".join(f"row {e['row']}: {e['value']!r}" for e in v.examples[:3]),
                )
                for v in report.violations
            ],
        )
    if not report.ok:
        raise typer.Exit(1)
