"""The ``mainsail`` command: Typer app, error rendering, sub-command registration."""

from __future__ import annotations

import sys
import traceback
from typing import Any

import typer

from mainsail.cli._output import err_console, print_error

app = typer.Typer(
    name="mainsail",
    help="Mainsail: track, version, gate, serve, monitor and retrain models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


_registered = False


def _flags_show_no_type() -> None:
    """``--json`` is a flag: help shows no ``<bool>`` beside it (Typer labels every option
    with its type; a flag takes no value, so the label only misleads)."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "_mainsail", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag and self.metavar is None:
            return None
        return shown(self, ctx)

    display_type_rich._mainsail = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


def _register() -> None:
    """Add every sub-command to ``app``, once per process.

    ``main()`` may run many times in one process (tests, notebooks); Typer appends a
    sub-app on every ``add_typer``, so registering again would make each later call build
    the whole command tree once per earlier call.
    """
    global _registered
    if _registered:
        return
    _flags_show_no_type()
    from mainsail.cli import _build, _controllers, _datasets, _deploy_team, _models, _ops, _tracking
    from mainsail.cli._automation import automation

    app.add_typer(_tracking.experiments, name="experiments")
    app.add_typer(_tracking.runs, name="runs")
    app.add_typer(_datasets.datasets, name="datasets")
    app.add_typer(_models.models, name="models")
    from mainsail.cli import _explain  # noqa: F401 - adds `models explain`

    app.add_typer(_build.build, name="build")
    _deploy_team.register(_build.build)  # build helm | compose
    app.add_typer(_controllers.controllers, name="controllers")
    app.add_typer(automation, name="automation")
    from mainsail.cli import _checks

    app.command("check")(_checks.check)
    app.add_typer(_checks.checks, name="checks")
    from mainsail.cli import _monitor

    app.add_typer(_monitor.monitor, name="monitor")
    app.add_typer(_monitor.alerts, name="alerts")
    _ops.register(app)
    from mainsail.cli import _pipelines

    app.add_typer(_pipelines.pipelines, name="pipeline")
    app.command("worker")(_pipelines.worker)
    app.add_typer(_pipelines.jobs_app, name="jobs")
    from mainsail.cli._serve import serve

    app.command("serve")(serve)
    from mainsail.cli import _audit, _backup, _db, _server, _tokens, _users

    app.command("server")(_server.server)
    app.add_typer(_users.users, name="users")
    app.add_typer(_tokens.tokens, name="tokens")
    app.command("audit")(_audit.audit)
    app.add_typer(_db.db, name="db")
    app.command("backup")(_backup.backup)
    app.command("restore")(_backup.restore)
    from mainsail.cli import _deploy  # progressive delivery

    app.command("deploy")(_deploy.deploy)
    app.add_typer(_deploy.rollout, name="rollout")
    app.add_typer(_deploy.endpoints, name="endpoints")
    from mainsail.cli._ui import ui

    app.command("ui")(ui)
    from mainsail.cli import _loadtest

    _loadtest.register(app)  # loadtest (issue 18)
    from mainsail.cli._import import imports

    app.add_typer(imports, name="import")
    _registered = True


def _usage_error(exc: BaseException) -> Any:
    """The Click error behind a usage mistake (typo, missing argument, bad value), if any.

    Typer vendors its own copy of Click (``typer._click``): its exceptions derive from
    ``typer.TyperException``, not from ``click.ClickException``, so both are recognised.
    ``show()`` prints the usage line, the "Try --help" hint and the message; the exit code
    is Click's (2 for usage errors).
    """
    if isinstance(exc, typer.TyperException) and hasattr(exc, "show"):
        return exc
    try:  # Typer no longer depends on Click: it may not be installed at all
        import click
    except ImportError:
        return None
    return exc if isinstance(exc, click.ClickException) else None


def main(argv: list[str] | None = None) -> None:
    """Entry point: a MainsailError prints its headline and message, without a traceback."""
    from mainsail.core._errors import MainsailError

    _register()
    try:
        code = app(args=argv, prog_name="mainsail", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except MainsailError as exc:
        print_error(exc)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("Aborted.")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        usage = _usage_error(exc)
        if usage is not None:
            usage.show()
            sys.exit(usage.exit_code)
        err_console.print("[bold red]Internal error[/] (this is a bug in Mainsail):")
        traceback.print_exc()
        err_console.print("Please report it with the traceback above.")
        sys.exit(3)
