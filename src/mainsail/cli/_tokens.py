"""``mainsail tokens``: bearer tokens, created (shown once), listed and revoked."""

from __future__ import annotations

from typing import Annotated

import typer

from mainsail.cli._output import console, fmt_ms, print_json, table
from mainsail.cli._users import cli_actor, show_token

tokens = typer.Typer(help="Bearer tokens: create (shown once), list, revoke.")


@tokens.command("create")
def tokens_create(
    user: str,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="api (default), read, predict or feedback.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="A label to recognise the token.")] = None,
    expires_days: Annotated[float | None, typer.Option(help="Expire after this many days.")] = None,
) -> None:
    """Issue a token for a user; it is printed once and stored only as a hash."""
    from mainsail.client import get_context
    from mainsail.security import admin

    issued = admin.create_token(
        get_context(), user, scope or ["api"], name, expires_days, actor=cli_actor()
    )
    show_token(issued)


@tokens.command("list")
def tokens_list(
    user: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List tokens (prefixes only; a token is never shown again)."""
    from mainsail.client import get_context

    found = get_context().store.list_tokens(user)
    if as_json:
        print_json([t.model_dump() for t in found])
        return
    table(
        "Tokens",
        ["id", "user", "name", "prefix", "scopes", "created", "last used", "state"],
        [
            (
                t.id,
                t.user,
                t.name,
                t.prefix + "…",
                ", ".join(t.scopes),
                fmt_ms(t.created_at),
                fmt_ms(t.last_used_at),
                "revoked" if t.revoked_at else "active",
            )
            for t in found
        ],
    )


@tokens.command("revoke")
def tokens_revoke(token_id: int) -> None:
    """Revoke a token by id; it stops working on the next request."""
    from mainsail.client import get_context
    from mainsail.security import admin

    admin.revoke_token(get_context(), token_id, actor=cli_actor())
    console.print(f"Token {token_id} revoked.")
