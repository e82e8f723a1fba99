"""Administration as an operator does it: users, role bindings and tokens, each change audited.

The changes go through ``ctx.store``, so they work next to the database and against a
server alike. Each leaves one audit event: a server's routes record their own (with the
authenticated caller and the response status); next to the database nothing else would, so
:data:`AUDIT_TRAIL` records it there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from mainsail.core._errors import InvalidValueError
from mainsail.core._ids import now_ms
from mainsail.core._roles import DEFAULT_SCOPES, check_role, check_scopes
from mainsail.core._security_schemas import IssuedToken, TokenInfo, User
from mainsail.store._context import Service

if TYPE_CHECKING:
    from mainsail.store._context import Context


class AuditTrail(Protocol):
    """Records an administrative change made through a context."""

    def record(
        self, actor: str, action: str, target: str, before: Any = None, after: Any = None
    ) -> None: ...


class DatabaseAuditTrail:
    """Next to the database: write the event, as a route would."""

    def __init__(self, ctx: Context) -> None:
        self.store = ctx.database("Recording an audit event")

    def record(
        self, actor: str, action: str, target: str, before: Any = None, after: Any = None
    ) -> None:
        self.store.add_audit_event(
            actor=actor,
            action=action,
            target=target,
            before=before,
            after=after,
            client="cli",
            status=200,
        )


class ServerAuditTrail:
    """Against a server: its route already recorded the change, with the token's user."""

    def __init__(self, ctx: Context) -> None:
        pass

    def record(
        self, actor: str, action: str, target: str, before: Any = None, after: Any = None
    ) -> None:
        return None


AUDIT_TRAIL: Service[AuditTrail] = Service(
    "audit trail", local=DatabaseAuditTrail, remote=ServerAuditTrail
)


def create_user(
    ctx: Context,
    name: str,
    role: str,
    project: str = "*",
    kind: str = "user",
    scopes: Sequence[str] = DEFAULT_SCOPES,
    *,
    actor: str,
) -> IssuedToken:
    """Create a user (or a ``kind="service"`` account) with ``role`` on ``project`` and a
    first token; the token's plaintext is in the result, once.

    Examples
    --------
    >>> issued = create_user(ctx, "ana", "developer", "churn-*", actor="ops")  # doctest: +SKIP
    >>> issued.token  # doctest: +SKIP
    'ms_...'
    """
    check_role(role)
    created = ctx.store.create_user_with_token(
        name, kind, {project: role}, check_scopes(list(scopes)), created_by=actor
    )
    issued = created.token
    assert issued is not None  # asked for: the store issued it
    after = {"kind": kind, "roles": created.user.roles, "token_id": issued.info.id}
    ctx.service(AUDIT_TRAIL).record(actor, "users.create", f"users/{name}", after=after)
    return issued


def set_role(ctx: Context, name: str, project: str, role: str | None, *, actor: str) -> User:
    """Bind ``role`` to user ``name`` on ``project`` (a pattern); ``role=None`` unbinds."""
    if role is not None:
        check_role(role)
    before = ctx.store.get_user(name).roles
    user = ctx.store.set_role(name, project, role)
    ctx.service(AUDIT_TRAIL).record(
        actor, "users.set_role", f"users/{name}", {"roles": before}, {"roles": user.roles}
    )
    return user


def set_user_disabled(ctx: Context, name: str, disabled: bool, *, actor: str) -> User:
    """Disable a user (its tokens stop working at once), or enable it again."""
    before = ctx.store.get_user(name).disabled
    user = ctx.store.set_user_disabled(name, disabled)
    ctx.service(AUDIT_TRAIL).record(
        actor, "users.update", f"users/{name}", {"disabled": before}, {"disabled": disabled}
    )
    return user


def create_token(
    ctx: Context,
    user: str,
    scopes: Sequence[str] = DEFAULT_SCOPES,
    name: str | None = None,
    expires_in_days: float | None = None,
    *,
    actor: str,
) -> IssuedToken:
    """Issue a token for ``user``, shown once; ``expires_in_days`` limits its life."""
    if expires_in_days is not None and not 0 < expires_in_days <= 3650:
        raise InvalidValueError(
            f"expires_in_days must be more than 0 and at most 3650. Got {expires_in_days!r}."
        )
    expires = now_ms() + int(expires_in_days * 86_400_000) if expires_in_days else None
    issued = ctx.store.issue_token(user, check_scopes(list(scopes)), name, expires)
    ctx.service(AUDIT_TRAIL).record(
        actor,
        "tokens.create",
        f"tokens/{issued.info.id}",
        after=issued.info.model_dump(mode="json"),
    )
    return issued


def revoke_token(ctx: Context, token_id: int, *, actor: str) -> TokenInfo:
    """Revoke a token; it stops working on the next request."""
    info = ctx.store.revoke_token(token_id)
    ctx.service(AUDIT_TRAIL).record(
        actor, "tokens.revoke", f"tokens/{token_id}", after={"revoked_at": info.revoked_at}
    )
    return info


__all__ = [
    "AUDIT_TRAIL",
    "AuditTrail",
    "create_token",
    "create_user",
    "revoke_token",
    "set_role",
    "set_user_disabled",
]
