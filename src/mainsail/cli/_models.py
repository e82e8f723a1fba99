"""``mainsail models list|show|versions|alias|archive|card``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mainsail.cli._output import console, err_console, fmt_ms, print_json, table

models = typer.Typer(help="Model registry: versions, aliases, cards.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _address(ref: str) -> str:
    """Accept 'churn/3', 'churn@champion' or a full 'models:/...' address."""
    return ref if ref.startswith("models:/") else f"models:/{ref}"


def _say_what_is_visible() -> None:
    """An empty list against a server may only mean the caller's roles match no model:
    say which project patterns they have (a user on 'churn-*' does not see 'churn')."""
    from mainsail.client import get_context

    remote = get_context().remote
    if remote is None:
        return
    who = remote.json("GET", "/whoami")
    roles = who.get("roles") or {}
    if "*" in roles:
        return
    patterns = ", ".join(f"'{p}' ({r})" for p, r in sorted(roles.items())) or "none"
    err_console.print(
        f"No model is visible to {who.get('name')}: your roles cover the projects {patterns}, "
        "and a model is listed only when its name matches one (a model named 'churn' does "
        "not match 'churn-*'). Ask an admin for `mainsail users grant NAME --role viewer "
        "--project PATTERN`."
    )


@models.command("list")
def models_list(as_json: JsonOpt = False) -> None:
    """List registered models with their latest version and aliases."""
    from mainsail.client import list_models

    found = list_models()
    if as_json:
        print_json([m.model_dump() for m in found])
        return
    if not found:
        _say_what_is_visible()
    table(
        "Models",
        ["name", "versions", "latest", "aliases", "created"],
        [
            (
                m.name,
                m.versions,
                m.latest_version,
                ", ".join(f"{a}→{v}" for a, v in sorted(m.aliases.items())) or "-",
                fmt_ms(m.created_at),
            )
            for m in found
        ],
    )


@models.command("versions")
def models_versions(name: str, as_json: JsonOpt = False) -> None:
    """List the versions of a model."""
    from mainsail.client import list_model_versions

    versions = list_model_versions(name)
    if as_json:
        print_json([v.model_dump(exclude={"reference_profile"}) for v in versions])
        return
    table(
        f"Versions of {name}",
        ["version", "flavor", "task", "status", "aliases", "metrics", "run", "created"],
        [
            (
                v.version,
                v.flavor,
                v.task,
                v.status,
                ", ".join(v.aliases) or "-",
                ", ".join(f"{k}={m:.4g}" for k, m in sorted(v.metrics.items())[:3]) or "-",
                (v.run_id or "-")[:12],
                fmt_ms(v.created_at),
            )
            for v in versions
        ],
    )


@models.command("show")
def models_show(ref: str, as_json: JsonOpt = False) -> None:
    """Show one version: files, signature, lineage (e.g. churn/3 or churn@champion)."""
    from mainsail.client import get_model_version

    v = get_model_version(_address(ref))
    if as_json:
        print_json(v.model_dump(exclude={"reference_profile"}))
        return
    console.print(f"[bold]{v.address}[/]  {v.flavor}  {v.task}  [cyan]{v.status}[/]")
    table(
        None,
        ["field", "value"],
        [
            ("aliases", ", ".join(v.aliases) or "-"),
            ("classes", v.classes),
            ("run", v.run_id),
            ("datasets", ", ".join(v.datasets) or "-"),
            ("git commit", v.git_commit),
            ("pickle allowed", v.allow_pickle),
            ("size", f"{v.size_bytes / 1e6:.2f} MB"),
            ("description", v.description),
        ],
    )
    table("Files", ["path", "sha256"], sorted(v.files.items()))
    cols = v.signature.get("inputs", {}).get("columns", [])
    table(
        "Signature",
        ["input", "dtype", "nullable", "range / categories"],
        [
            (
                c["name"],
                c["dtype"],
                c["nullable"],
                f"{c['min']:.4g} .. {c['max']:.4g}"
                if c.get("min") is not None
                else ", ".join((c.get("categories") or [])[:6]) or "-",
            )
            for c in cols
        ],
    )


@models.command("alias")
def models_alias(
    name: str,
    alias: str,
    version: Annotated[int | None, typer.Argument(help="Version to point the alias at.")] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias.")] = False,
    history: Annotated[bool, typer.Option("--history", help="Show the alias's moves.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Move an alias (``mainsail models alias churn champion 3``), delete it, or show history."""
    from mainsail.client import alias_history, delete_alias, set_alias

    if history:
        changes = alias_history(name, alias)
        if as_json:
            print_json([c.model_dump() for c in changes])
            return
        table(
            f"History of {name}@{alias}",
            ["when", "from", "to", "by"],
            [(fmt_ms(c.ts), c.from_version, c.to_version, c.actor) for c in changes],
        )
        return
    if delete:
        delete_alias(name, alias)
        console.print(f"Removed alias {name}@{alias}.")
        return
    if version is None:
        raise typer.BadParameter("give a VERSION, or --delete, or --history")
    result = set_alias(name, alias, version)
    console.print(f"{name}@{alias} → version {result.version}")


@models.command("archive")
def models_archive(
    name: str,
    version: int,
    undo: Annotated[bool, typer.Option("--undo", help="Unarchive instead.")] = False,
) -> None:
    """Archive a version (it stays loadable by number; aliases cannot point to it)."""
    from mainsail.client import archive_version, unarchive_version

    v = unarchive_version(name, version) if undo else archive_version(name, version)
    console.print(f"{v.address} is now {v.status}.")


@models.command("card")
def models_card(
    ref: str,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML card here.")] = None,
    markdown: Annotated[
        Path | None, typer.Option("--md", help="Write the Markdown card here.")
    ] = None,
) -> None:
    """Print a model card (Markdown), or write it as HTML/Markdown files."""
    from mainsail.client import get_context, get_model_version
    from mainsail.core._capacity import Prices
    from mainsail.registry import render_html, render_markdown

    v = get_model_version(_address(ref))
    prices = Prices.from_settings(get_context().settings)  # the card's cost per 1,000
    md = render_markdown(v, prices)
    if html is not None:
        html.write_text(render_html(v, prices))
        console.print(f"Wrote {html}")
    if markdown is not None:
        markdown.write_text(md)
        console.print(f"Wrote {markdown}")
    if html is None and markdown is None:
        from rich.markdown import Markdown

        console.print(Markdown(md))


@models.command("export")
def models_export(
    ref: str,
    fmt: Annotated[str, typer.Option("--format", help="Target format (onnx).")] = "onnx",
    tolerance: Annotated[
        float, typer.Option(help="Largest accepted prediction difference.")
    ] = 1e-4,
    quantize: Annotated[
        str | None,
        typer.Option(help="int8: register the dynamically int8-quantised model (edge targets)."),
    ] = None,
    min_agreement: Annotated[
        float, typer.Option(help="With --quantize: the share of labels a classifier must keep.")
    ] = 0.99,
) -> None:
    """Convert a version to ONNX, check parity with the native model, register the result.

    The new version keeps the source's signature, reference profile, lineage and metrics.
    """
    from mainsail.client import get_context
    from mainsail.core._errors import InvalidValueError
    from mainsail.packaging import export_onnx

    if fmt != "onnx":
        raise InvalidValueError(f"Unknown export format {fmt!r}. Valid formats: onnx.")
    result = export_onnx(
        get_context(), _address(ref), tolerance, quantize=quantize, min_agreement=min_agreement
    )
    proba = (
        f", max |probability diff| {result.max_abs_diff_proba:.3g}"
        if result.max_abs_diff_proba is not None
        else ""
    )
    console.print(
        f"Exported {result.source} → [bold]{result.version.address}[/] (onnx). Parity on "
        f"{result.rows_checked} rows: max |prediction diff| {result.max_abs_diff:.3g}{proba}."
    )
    q = result.quantization
    if q is not None:
        agreement = f"label agreement {q.agreement:.2%}, " if q.agreement is not None else ""
        console.print(
            f"{q.kind} parity on {q.rows} rows: {agreement}max error {q.max_abs_error:.3g}; "
            f"size {q.size_bytes / 1e3:.1f} kB (float {q.float_size_bytes / 1e3:.1f} kB); "
            f"latency {q.latency_ms:.2f} ms per batch (float {q.float_latency_ms:.2f} ms)."
        )
