"""``mainsail server``, ``users``, ``tokens``, ``audit``, ``db``, ``backup`` and ``restore``.

``users``, ``tokens`` and ``audit`` work on the embedded store, or through the server when
``MAINSAIL_TRACKING_URI`` is set (then with the admin's ``MAINSAIL_TOKEN``).
"""

from __future__ import annotations

import getpass
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from mainsail.cli._output import console, err_console, fmt_ms, print_json, table

users = typer.Typer(help="Users and service accounts, and their roles per project.")
tokens = typer.Typer(help="Bearer tokens: create (shown once), list, revoke.")
db = typer.Typer(help="The metadata database: schema upgrades.")

ROLE_HELP = "viewer, developer, deployer or admin"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _ctx() -> Any:
    from mainsail.client._context import get_context

    return get_context()


def _remote(ctx: Any) -> Any:
    """The REST client when the CLI talks to a server, else ``None``."""
    return ctx.store.client if ctx.is_remote else None


def _audit_local(ctx: Any, action: str, target: str, before: Any = None, after: Any = None) -> None:
    ctx.store.add_audit_event(
        actor=f"{_os_user()} (cli)",
        action=action,
        target=target,
        before=before,
        after=after,
        client="cli",
        status=200,
    )


def _show_token(token: str, info: dict[str, Any]) -> None:
    console.print(
        f"Token {info['prefix']}… (id {info['id']}) for [bold]{info['user']}[/], scopes "
        f"{', '.join(info['scopes'])}. It is shown this once; store it now:"
    )
    print(token)


# -- server -----------------------------------------------------------------------------------
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
    if bootstrap_admin and ctx.database().count_users() == 0:
        from mainsail.security import create_user_with_token

        issued = create_user_with_token(ctx.database(), "admin", "admin", created_by="bootstrap")
        _audit_local(ctx, "users.create", "users/admin", after={"roles": {"*": "admin"}})
        _show_token(issued.token, issued.info.model_dump())
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
        f"store {ctx.database().db.url.split('://')[0]}, artifacts {ctx.artifacts.root_url.split('://')[0] if '://' in ctx.artifacts.root_url else 'local'})"
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


# -- users ------------------------------------------------------------------------------------
@users.command("create")
def users_create(
    name: str,
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    project: Annotated[str, typer.Option(help="Project pattern ('*' = every project).")] = "*",
    service: Annotated[bool, typer.Option("--service", help="A service account.")] = False,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="Token scope: api, read, predict.")
    ] = None,
) -> None:
    """Create a user (or service account) and print its first token, once."""
    from mainsail.security import check_role, create_user_with_token

    check_role(role)
    ctx = _ctx()
    kind = "service" if service else "user"
    scopes = scope or ["api"]
    client = _remote(ctx)
    if client is not None:
        data = client.json(
            "POST",
            "/users",
            json={"name": name, "kind": kind, "role": role, "project": project, "scopes": scopes},
        )
        _show_token(data["token"]["token"], data["token"]["info"])
        return
    issued = create_user_with_token(ctx.store, name, role, project, kind, scopes, _os_user())
    _audit_local(ctx, "users.create", f"users/{name}", after={"roles": {project: role}})
    _show_token(issued.token, issued.info.model_dump())


@users.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List users, their kind and roles."""
    ctx = _ctx()
    client = _remote(ctx)
    rows = (
        client.json("GET", "/users") if client else [u.model_dump() for u in ctx.store.list_users()]
    )
    if as_json:
        print_json(rows)
        return
    table(
        "Users",
        ["name", "kind", "roles", "disabled", "created"],
        [
            (
                u["name"],
                u["kind"],
                ", ".join(f"{p}={r}" for p, r in u["roles"].items()),
                u["disabled"],
                fmt_ms(u["created_at"]),
            )
            for u in rows
        ],
    )


@users.command("grant")
def users_grant(
    name: str,
    role: Annotated[str, typer.Option(help=ROLE_HELP + "; 'none' removes the binding")],
    project: Annotated[str, typer.Option(help="Project pattern ('*' = every project).")] = "*",
) -> None:
    """Bind a role to a user on a project (``--role none`` removes it)."""
    from mainsail.security import check_role

    value = None if role == "none" else check_role(role)
    ctx = _ctx()
    client = _remote(ctx)
    if client is not None:
        user = client.json("POST", f"/users/{name}/roles", json={"project": project, "role": value})
    else:
        before = ctx.store.get_user(name).roles
        user = ctx.store.set_role(name, project, value).model_dump()
        _audit_local(
            ctx, "users.set_role", f"users/{name}", {"roles": before}, {"roles": user["roles"]}
        )
    console.print(
        f"{name}: " + (", ".join(f"{p}={r}" for p, r in user["roles"].items()) or "no roles")
    )


@users.command("disable")
def users_disable(name: str, enable: Annotated[bool, typer.Option("--enable")] = False) -> None:
    """Disable a user (its tokens stop working at once); ``--enable`` undoes it."""
    ctx = _ctx()
    client = _remote(ctx)
    if client is not None:
        client.json("PATCH", f"/users/{name}", json={"disabled": not enable})
    else:
        ctx.store.set_user_disabled(name, not enable)
        _audit_local(ctx, "users.update", f"users/{name}", after={"disabled": not enable})
    console.print(f"{name} is {'enabled' if enable else 'disabled'}.")


# -- tokens -----------------------------------------------------------------------------------
@tokens.command("create")
def tokens_create(
    user: str,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="api (default), read or predict.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="A label to recognise the token.")] = None,
    expires_days: Annotated[float | None, typer.Option(help="Expire after this many days.")] = None,
) -> None:
    """Issue a token for a user; it is printed once and stored only as a hash."""
    from mainsail.core._ids import now_ms
    from mainsail.security import issue_token

    ctx = _ctx()
    scopes = scope or ["api"]
    client = _remote(ctx)
    if client is not None:
        data = client.json(
            "POST",
            "/tokens",
            json={"user": user, "scopes": scopes, "name": name, "expires_in_days": expires_days},
        )
        _show_token(data["token"], data["info"])
        return
    expires = now_ms() + int(expires_days * 86_400_000) if expires_days else None
    issued = issue_token(ctx.store, user, scopes, name, expires)
    _audit_local(
        ctx, "tokens.create", f"tokens/{issued.info.id}", after=issued.info.model_dump(mode="json")
    )
    _show_token(issued.token, issued.info.model_dump())


@tokens.command("list")
def tokens_list(
    user: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List tokens (prefixes only; a token is never shown again)."""
    ctx = _ctx()
    client = _remote(ctx)
    rows = (
        client.json("GET", "/tokens", params={"user": user} if user else {})
        if client
        else [t.model_dump() for t in ctx.store.list_tokens(user)]
    )
    if as_json:
        print_json(rows)
        return
    table(
        "Tokens",
        ["id", "user", "name", "prefix", "scopes", "created", "last used", "state"],
        [
            (
                t["id"],
                t["user"],
                t["name"],
                t["prefix"] + "…",
                ", ".join(t["scopes"]),
                fmt_ms(t["created_at"]),
                fmt_ms(t["last_used_at"]),
                "revoked" if t["revoked_at"] else "active",
            )
            for t in rows
        ],
    )


@tokens.command("revoke")
def tokens_revoke(token_id: int) -> None:
    """Revoke a token by id; it stops working on the next request."""
    ctx = _ctx()
    client = _remote(ctx)
    if client is not None:
        client.json("DELETE", f"/tokens/{token_id}")
    else:
        info = ctx.store.revoke_token(token_id)
        _audit_local(
            ctx, "tokens.revoke", f"tokens/{token_id}", after={"revoked_at": info.revoked_at}
        )
    console.print(f"Token {token_id} revoked.")


# -- audit ------------------------------------------------------------------------------------
def audit(
    actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    action: Annotated[str | None, typer.Option(help="Action prefix, e.g. 'models.'.")] = None,
    target: Annotated[str | None, typer.Option(help="Target prefix, e.g. 'runs/'.")] = None,
    limit: Annotated[int, typer.Option(help="Newest events to show.")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the audit log: who did what to which object, when, from where, with what result."""
    ctx = _ctx()
    client = _remote(ctx)
    if client is not None:
        params = {
            k: v
            for k, v in {"actor": actor, "action": action, "target": target, "limit": limit}.items()
            if v is not None
        }
        rows = client.json("GET", "/audit", params=params)
    else:
        rows = [
            e.model_dump() for e in ctx.store.list_audit_events(actor, action, target, None, limit)
        ]
    if as_json:
        print_json(rows)
        return
    table(
        "Audit events (newest first)",
        ["time", "actor", "action", "target", "status", "client"],
        [
            (fmt_ms(e["ts"]), e["actor"], e["action"], e["target"], e["status"], e["client"])
            for e in rows
        ],
    )


# -- db, backup, restore ----------------------------------------------------------------------
@db.command("upgrade")
def db_upgrade() -> None:
    """Migrate the metadata database to this version's schema (safe to run twice)."""
    from mainsail.core._settings import get_settings
    from mainsail.store import SCHEMA_REVISION, Database

    settings = get_settings()
    database = Database(settings.resolved_database_url())  # migrates under a lock
    try:
        console.print(
            f"Schema at revision {database.current_revision()} (this version: {SCHEMA_REVISION})."
        )
    finally:
        database.dispose()


def backup(
    out: Annotated[Path, typer.Argument(help="Folder to write (must not exist or be empty).")],
) -> None:
    """Write every metadata table and the artifact manifest (digest, size) to a folder."""
    from mainsail.store._backup import write_backup

    ctx = _ctx()
    report = write_backup(ctx.store.db, ctx.artifacts, out)
    console.print(
        f"Backed up {report['rows']} rows from {report['tables']} tables and a manifest of "
        f"{report['blobs']} artifact blobs to {out}."
    )


def restore(
    folder: Annotated[Path, typer.Argument(help="A folder written by 'mainsail backup'.")],
) -> None:
    """Load a backup into an empty database and check its artifacts are all present."""
    from mainsail.store._backup import read_backup

    ctx = _ctx()
    report = read_backup(ctx.store.db, ctx.artifacts, folder)
    console.print(f"Restored {report['rows']} rows into {report['tables']} tables.")
    if report["missing"]:
        err_console.print(
            f"[yellow]{len(report['missing'])} artifact blob(s) in the manifest are not in the "
            "artifact store[/] (copy the artifact storage too); first: " + report["missing"][0]
        )
        raise typer.Exit(2)
