"""``mainsail gc``, ``mainsail doctor`` and ``mainsail encrypt``."""

from __future__ import annotations

import platform
from typing import Annotated, Any

import typer

from mainsail.cli._output import console, err_console, print_json, table


def register(app: typer.Typer) -> None:
    app.command("gc")(gc)
    app.command("doctor")(doctor)
    app.command("encrypt")(encrypt)


def encrypt(
    all_blobs: Annotated[
        bool, typer.Option("--all", help="Encrypt every blob stored in plaintext.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list the plaintext blobs.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Encrypt the artifact blobs written before MAINSAIL_ENCRYPTION_KEY was set.

    Run it next to the artifact store (embedded, or on the server's host) with the key set;
    afterwards MAINSAIL_REQUIRE_ENCRYPTION=true refuses any plaintext blob on read.
    """
    from mainsail.client import get_context
    from mainsail.core._errors import ConfigurationError

    if not all_blobs:
        err_console.print(
            "Usage: mainsail encrypt --all [--dry-run] [--json]\n"
            "Pass --all to encrypt every plaintext blob in the artifact store (there is no "
            "per-blob form); --dry-run lists them first."
        )
        raise typer.Exit(2)
    ctx = get_context()
    if ctx.is_remote:
        raise ConfigurationError(
            "'mainsail encrypt' rewrites the blobs where they are stored: run it on the "
            "server's host (unset MAINSAIL_TRACKING_URI there) with MAINSAIL_ENCRYPTION_KEY set."
        )
    report = ctx.artifacts.encrypt_all(dry_run=dry_run)
    if as_json:
        key = "plaintext" if dry_run else "encrypted"
        print_json({key: report.encrypted, "already": report.already, "failed": report.failed})
    else:
        verb = "Would encrypt" if dry_run else "Encrypted"
        console.print(
            f"{verb} {len(report.encrypted)} plaintext blob(s); {report.already} already "
            f"encrypted; {len(report.failed)} failed."
        )
        for digest, why in report.failed.items():
            err_console.print(f"  sha256:{digest}: {why}")
    if report.failed:
        raise typer.Exit(1)


def gc(
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run/--delete",
            help="Only report what would go (the default); --delete removes it.",
        ),
    ] = True,
    min_age: Annotated[
        float, typer.Option("--min-age", help="Keep blobs younger than this many seconds.")
    ] = 3600.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Find artifact blobs that nothing references; remove them only with --delete.

    Referenced: run artifacts, dataset tables, model folders (and every file in them),
    release-check and monitor reports, and the values of pipeline runs, step runs and the
    step cache.
    """
    from mainsail.client import get_context
    from mainsail.store._gc import collect_garbage

    ctx = get_context()
    report = collect_garbage(ctx.store, ctx.artifacts, dry_run=dry_run, min_age_s=min_age)
    if as_json:
        print_json(report.__dict__)
        return
    verb = "Would remove" if dry_run else "Removed"
    console.print(
        f"{verb} {len(report.unreferenced)} unreferenced blob(s), "
        f"{report.freed_bytes / 1e6:.2f} MB; {report.referenced} referenced; "
        f"{report.too_young} kept as younger than {min_age:g}s."
    )
    for d in report.unreferenced[:20]:
        console.print(f"  sha256:{d}")
    if dry_run and report.unreferenced:
        console.print("Nothing was deleted (dry run). Remove them with: mainsail gc --delete")


def doctor(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    quick: Annotated[
        bool,
        typer.Option("--quick", help="Check referenced blobs exist, without reading them."),
    ] = False,
) -> None:
    """Check the configuration, the store, every referenced artifact blob (it exists and
    verifies against its digest) and the installed versions."""
    import importlib.metadata as md

    from mainsail.core._errors import MainsailError
    from mainsail.core._settings import get_settings
    from mainsail.core._version import VERSION
    from mainsail.store._db import _redact

    s = get_settings()
    checks: list[tuple[str, bool, str]] = []
    checks.append(("home", True, str(s.resolved_home())))
    if s.tracking_uri:
        checks.append(("server", True, s.tracking_uri))
    else:
        checks.append(("database", True, _redact(s.resolved_database_url())))
    checks.append(("artifact root", True, s.resolved_artifact_root()))
    try:
        from mainsail.client import get_context

        ctx = get_context()
        rev = ctx.store.schema_revision()
        checks.append(("store reachable", True, f"schema revision {rev}"))
        digest = ctx.artifacts.put_bytes(b"mainsail doctor probe")
        ctx.artifacts.get_bytes(digest)
        checks.append(("artifacts writable", True, "write + verified read ok"))
        checks.append(_blob_check(ctx, verify=not quick))
    except MainsailError as exc:
        checks.append(("store reachable", False, exc.message))
    versions = {"python": platform.python_version(), "mainsail": VERSION}
    for pkg in ("sqlalchemy", "alembic", "pandas", "pyarrow", "scikit-learn", "psycopg", "s3fs"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = "not installed"
    ok = all(c[1] for c in checks)
    if as_json:
        print_json({"ok": ok, "checks": checks, "versions": versions})
    else:
        table(
            "Mainsail doctor",
            ["check", "ok", "detail"],
            [(n, "[green]yes[/]" if good else "[red]NO[/]", d) for n, good, d in checks],
        )
        table("Versions", ["package", "version"], sorted(versions.items()))
    if not ok:
        raise typer.Exit(1)


def _blob_check(ctx: Any, verify: bool) -> tuple[str, bool, str]:
    """Every blob the metadata references exists (and, with ``verify``, reads back)."""
    if ctx.is_remote:
        return ("referenced blobs", True, "not checked here: run 'mainsail doctor' on the server")
    from mainsail.store._fsck import check_blobs

    found = check_blobs(ctx.store, ctx.artifacts, verify=verify)
    if found.ok:
        how = f"all {found.referenced} exist" + (" and verify" if verify else "")
        return ("referenced blobs", True, how)
    parts = []
    if found.missing:
        parts.append(f"{len(found.missing)} missing (first sha256:{found.missing[0]})")
    if found.damaged:
        first, why = next(iter(found.damaged.items()))
        parts.append(f"{len(found.damaged)} do not verify (first sha256:{first}: {why})")
    return (
        "referenced blobs",
        False,
        f"of {found.referenced}: " + "; ".join(parts) + ". Restore them from a backup made "
        "with 'mainsail backup' (it copies the blobs), or log the artifacts again.",
    )
