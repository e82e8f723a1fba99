"""``mainsail models explain``: explain a registry version on a data file, write the report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mainsail.cli._models import JsonOpt, _address, models
from mainsail.cli._output import console, print_json, table


@models.command("explain")
def models_explain(
    ref: str,
    data: Annotated[
        Path, typer.Option("--data", help="Rows to explain: a .parquet, .csv, .json(l) file.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the HTML report here (report.html).")
    ] = None,
    method: Annotated[
        str, typer.Option(help="auto, or an explainer: tree, linear, permutation, kernel, lime.")
    ] = "auto",
    background: Annotated[
        Path | None,
        typer.Option(
            help="Background rows for the sampling methods (default: the version's reference "
            "sample)."
        ),
    ] = None,
    rows: Annotated[
        int, typer.Option(min=1, help="Explain at most this many rows (a deterministic sample).")
    ] = 1000,
    top: Annotated[int, typer.Option(min=1, help="Features in the table and the charts.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Explain a model version's predictions on a data file; write an HTML report.

    The report has the global importance, a summary (beeswarm), dependence plots for the top
    features and local waterfalls for a few rows. Against a server, the server explains.
    """
    from mainsail.client._explanations import explain
    from mainsail.data._datasets import read_table
    from mainsail.explanations import sample_rows, write_report

    frame = sample_rows(read_table(data), rows, seed=0)
    bg = read_table(background) if background is not None else None
    address = _address(ref)
    e = explain(address, frame, method=method, background=bg)
    importance = e.global_importance()
    if out is not None:
        write_report(e, out, top_k=top, title=f"Explanation of {e.model or address}")
    if as_json:
        print_json(
            {
                "model": e.model,
                "method": e.method,
                "exact": e.exact,
                "output_space": e.output_space,
                "rows": len(e),
                "additivity_error": e.additivity_error,
                "global_importance": {str(k): float(v) for k, v in importance.head(top).items()},
                "report": str(out) if out is not None else None,
            }
        )
        return
    console.print(
        f"{e.model or address}: {len(e)} rows explained by the [bold]{e.method}[/] method "
        f"({'exact' if e.exact else 'approximate'}, {e.output_space} space, additivity error "
        f"{e.additivity_error:.2g})."
    )
    table(
        "Global importance (mean |attribution|)",
        ["feature", "importance"],
        [[str(k), f"{v:.4g}"] for k, v in importance.head(top).items()],
    )
    if out is not None:
        console.print(f"Wrote {out}")
