"""``mainsail users``: users and service accounts, and their roles per project.

Like ``tokens`` and ``audit``, it works on the embedded store, or through the server when
``MAINSAIL_TRACKING_URI`` is set (then with an admin's ``MAINSAIL_TOKEN``).
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from mainsail.cli._output import console, fmt_ms, print_json, table
from mainsail.core._security_schemas import IssuedToken

users = typer.Typer(help="Users and service accounts, and their roles per project.")

ROLE_HELP = "viewer, developer, deployer or admin"


def cli_actor() -> str:
    """Who the audit log records for a change made with the CLI next to the database."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "cli"
    return f"{user} (cli)"


def show_token(issued: IssuedToken) -> None:
    info = issued.info
    console.print(
        f"Token {info.prefix}… (id {info.id}) for [bold]{info.user}[/], scopes "
        f"{', '.join(info.scopes)}. It is shown this once; store it now:"
    )
    print(issued.token)


@users.command("create")
def users_create(
    name: str,
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    project: Annotated[str, typer.Option(help="Project pattern ('*' = every project).")] = "*",
    service: Annotated[bool, typer.Option("--service", help="A service account.")] = False,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="Token scope: api, read, predict, feedback.")
    ] = None,
) -> None:
    """Create a user (or service account) and print its first token, once."""
    from mainsail.client import get_context
    from mainsail.security import admin

    kind = "service" if service else "user"
    issued = admin.create_user(
        get_context(), name, role, project, kind, scope or ["api"], actor=cli_actor()
    )
    show_token(issued)


@users.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List users, their kind and roles."""
    from mainsail.client import get_context

    found = get_context().store.list_users()
    if as_json:
        print_json([u.model_dump() for u in found])
        return
    table(
        "Users",
        ["name", "kind", "roles", "disabled", "created"],
        [
            (
                u.name,
                u.kind,
                ", ".join(f"{p}={r}" for p, r in u.roles.items()),
                u.disabled,
                fmt_ms(u.created_at),
            )
            for u in found
        ],
    )


@users.command("grant")
def users_grant(
    name: str,
    role: Annotated[str, typer.Option(help=ROLE_HELP + "; 'none' removes the binding")],
    project: Annotated[str, typer.Option(help="Project pattern ('*' = every project).")] = "*",
) -> None:
    """Bind a role to a user on a project (``--role none`` removes it)."""
    from mainsail.client import get_context
    from mainsail.security import admin

    value = None if role == "none" else role
    user = admin.set_role(get_context(), name, project, value, actor=cli_actor())
    console.print(
        f"{name}: " + (", ".join(f"{p}={r}" for p, r in user.roles.items()) or "no roles")
    )


@users.command("disable")
def users_disable(name: str, enable: Annotated[bool, typer.Option("--enable")] = False) -> None:
    """Disable a user (its tokens stop working at once); ``--enable`` undoes it."""
    from mainsail.client import get_context
    from mainsail.security import admin

    admin.set_user_disabled(get_context(), name, not enable, actor=cli_actor())
    console.print(f"{name} is {'enabled' if enable else 'disabled'}.")
