"""The ``mainsail`` command: Typer app, error rendering, sub-command registration."""

from __future__ import annotations

import sys
import traceback

import typer

from mainsail.cli._output import err_console

app = typer.Typer(
    name="mainsail",
    help="Mainsail: track, version, gate, serve, monitor and retrain models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


_registered = False


def _register() -> None:
    """Add every sub-command to ``app``, once per process.

    ``main()`` may run many times in one process (tests, notebooks); Typer appends a
    sub-app on every ``add_typer``, so registering again would make each later call build
    the whole command tree once per earlier call.
    """
    global _registered
    if _registered:
        return
    from mainsail.cli import _build, _controllers, _datasets, _deploy_team, _models, _ops, _tracking
    from mainsail.cli._automation import automation

    app.add_typer(_tracking.experiments, name="experiments")
    app.add_typer(_tracking.runs, name="runs")
    app.add_typer(_datasets.datasets, name="datasets")
    app.add_typer(_models.models, name="models")
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
    from mainsail.cli._import import imports

    app.add_typer(imports, name="import")
    _registered = True


def main(argv: list[str] | None = None) -> None:
    """Entry point: a MainsailError prints its headline and message, without a traceback."""
    from mainsail.core._errors import MainsailError

    _register()
    try:
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except MainsailError as exc:
        err_console.print(f"[bold red]{exc.headline}:[/] {exc.message}", highlight=False)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("Aborted.")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        err_console.print("[bold red]Internal error[/] (this is a bug in Mainsail):")
        traceback.print_exc()
        err_console.print("Please report it with the traceback above.")
        sys.exit(3)
