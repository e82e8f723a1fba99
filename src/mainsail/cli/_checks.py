"""``mainsail check MODEL --data DATA`` and ``mainsail checks list|show``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mainsail.cli._output import console, err_console, fmt_ms, print_error, print_json, table
from mainsail.core._uris import MODEL_FORMS

checks = typer.Typer(help="Release checks: stored results.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def check(
    model: Annotated[str, typer.Argument(help=f"Model version: {MODEL_FORMS}.")],
    data: Annotated[
        str, typer.Option("--data", "-d", help="datasets:/name/N, or a Parquet/CSV file.")
    ],
    baseline: Annotated[
        str | None, typer.Option("--baseline", "-b", help="@champion, a version number or address.")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", "-p", help="Policy YAML (thresholds per check).")
    ] = None,
    label: Annotated[str | None, typer.Option("--label", "-l", help="The label column.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write report.html/json/md here.")
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Compare the schema with this endpoint.")
    ] = None,
    as_json: JsonOpt = False,
) -> int:
    """Run release checks. Exit codes: 0 blessed, 1 rejected, 2 the checks could not run
    (invalid input: a usage mistake, a bad policy, an unknown model or dataset, a missing
    label column; the message says which), 3 an internal error."""
    from mainsail.checks._report import print_result
    from mainsail.client._checks import check as run_check
    from mainsail.core._errors import MainsailError

    try:
        result = run_check(
            model,
            data,
            label=label,
            baseline=baseline,
            policy=policy,
            out_dir=out,
            progress=not as_json,
            endpoint=endpoint,
        )
    except MainsailError as exc:  # nothing was judged: not "rejected" (1) for CI
        print_error(exc)
        raise typer.Exit(2) from None
    if as_json:
        print_json(result.to_dict())
    else:
        print_result(result, console)
        if out is not None:
            console.print(f"Reports: {out / 'report.html'}, {out / 'report.json'}")
    return 0 if result.blessed else 1


@checks.command("list")
def checks_list(
    model: Annotated[str, typer.Argument(help="churn/4, churn@champion or churn (every version).")],
    as_json: JsonOpt = False,
) -> None:
    """Stored check results, newest first."""
    from mainsail.client._checks import get_check_results

    found = get_check_results(model)
    if as_json:
        print_json([r.to_dict() for r in found])
        return
    if not found:
        err_console.print(f"No check results for {model}. Run `mainsail check {model} --data ...`.")
    table(
        f"Check results of {model}",
        ["id", "version", "verdict", "baseline", "pass", "fail", "inconclusive", "data", "created"],
        [
            (
                r.id,
                r.version,
                r.verdict,
                r.baseline_version,
                *(r.summary.get("counts", {}).get(s, 0) for s in ("pass", "fail", "inconclusive")),
                r.data_ref,
                fmt_ms(r.created_at),
            )
            for r in found
        ],
    )


@checks.command("show")
def checks_show(
    model: Annotated[str, typer.Argument(help="churn/4: shows its newest result.")],
    html: Annotated[Path | None, typer.Option("--html", help="Write the stored HTML here.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the newest check result of a version (the table, or the stored HTML report)."""
    from mainsail.checks._report import print_result
    from mainsail.client import get_context
    from mainsail.client._checks import latest_check
    from mainsail.core._errors import NotFoundError

    result = latest_check(model)
    if result is None:
        raise NotFoundError(
            f"{model} has no check results. Run `mainsail check {model} --data ...`."
        )
    if as_json:
        print_json(result.to_dict())
        return
    if html is not None and result.html_digest:
        html.write_bytes(get_context().artifacts.get_bytes(result.html_digest))
        console.print(f"Wrote {html}")
        return
    print_result(result, console)
