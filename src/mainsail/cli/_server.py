"""``mainsail server``: the control plane, the controllers and, with ``--endpoint``, the data
plane, in one process over the SQL store."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from mainsail.cli._output import err_console
from mainsail.cli._users import cli_actor, show_token


def server(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind (0: any free port).")] = 8080,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Turn authentication off (trusted networks only).")
    ] = False,
    bootstrap_admin: Annotated[
        bool,
        typer.Option(
            "--bootstrap-admin",
            help="If there is no user yet, create 'admin' and print its token once.",
        ),
    ] = False,
    controllers: Annotated[
        bool, typer.Option("--controllers/--no-controllers", help="Run the controllers too.")
    ] = True,
    ssl_certfile: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    cors_origin: Annotated[
        list[str] | None, typer.Option("--cors-origin", help="Allow this origin (CORS is off).")
    ] = None,
    max_request_mb: Annotated[float, typer.Option(help="Largest JSON request body.")] = 32.0,
    max_upload_mb: Annotated[float, typer.Option(help="Largest artifact upload.")] = 10240.0,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            help="Also serve this endpoint's inference routes (/v2, /invocations) in this "
            "process, following its rollouts.",
        ),
    ] = None,
) -> None:
    """Run the Mainsail server: the /api/v1 control plane, health, the controllers and,
    with --endpoint, the data plane: one command runs the whole platform."""
    import uvicorn

    from mainsail.client._context import build_context
    from mainsail.core._errors import ConfigurationError
    from mainsail.core._settings import get_settings
    from mainsail.server import create_app

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise ConfigurationError(
            "TLS needs both --ssl-certfile and --ssl-keyfile; only one was given."
        )
    settings = get_settings().model_copy(update={"tracking_uri": None})
    ctx = build_context(settings)  # the server always sits on the SQL store
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    users = ctx.store.count_users() if bootstrap_admin else 0
    if bootstrap_admin and users == 0:
        from mainsail.security import admin

        show_token(admin.create_user(ctx, "admin", "admin", actor=cli_actor()))
    elif bootstrap_admin:
        err_console.print(
            f"--bootstrap-admin: the store has {users} user(s) already, so no admin was "
            "created and no token printed. Make one for an existing user with "
            "`mainsail tokens create USER` (`mainsail users list` names them)."
        )
    inference = None
    if endpoint:
        from mainsail.serving._app import create_app as create_data_plane
        from mainsail.serving._settings import ServeSettings

        ctx.database().get_endpoint_record(endpoint)  # unknown: a clear error listing endpoints
        inference = create_data_plane(ctx, ServeSettings(endpoint=endpoint))
    app = create_app(
        ctx,
        inference=inference,
        auth=not no_auth,
        controllers=controllers,
        cors_origins=cors_origin or (),
        max_request_mb=max_request_mb,
        max_upload_mb=max_upload_mb,
    )
    scheme = "https" if ssl_certfile else "http"
    err_console.print(
        f"Mainsail server on {scheme}://{host}:{port} (auth {'off' if no_auth else 'on'}, "
        f"store {settings.resolved_database_url().split('://')[0]}, artifacts {ctx.artifacts.root_url.split('://')[0] if '://' in ctx.artifacts.root_url else 'local'})"
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level.lower(),
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        server_header=False,
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    # A graceful shutdown waits for requests in flight: long polls (a worker's job claim)
    # look at this and answer at once, so a stop does not wait out their wait_s.
    app.state.stopping = lambda: server.should_exit
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    if not server.started:
        raise typer.Exit(3)  # uvicorn's startup failure code (e.g. the port is taken)
