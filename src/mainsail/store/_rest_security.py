"""Users, roles, tokens and the audit log over a Mainsail server's admin routes.

The caller's token needs the admin role on ``*``. Roles and scopes are checked here first,
so a bad one fails with the same error as next to the database. The server records the
authenticated caller as ``created_by`` and audits every change itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mainsail.core._errors import InvalidValueError
from mainsail.core._roles import DEFAULT_SCOPES, check_role, check_scopes
from mainsail.core._security_schemas import AuditEvent, CreatedUser, IssuedToken, TokenInfo, User
from mainsail.store._rest_client import RestClient, seg


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise InvalidValueError(f"A user name is 1 to 256 characters. Got {name!r}.")
    return name


class RestSecurityMixin:
    """The security protocol over HTTP; mixed into :class:`RestStore`."""

    client: RestClient

    # -- users -----------------------------------------------------------------------------
    def create_user(
        self,
        name: str,
        kind: str = "user",
        roles: dict[str, str] | None = None,
        created_by: str | None = None,
    ) -> User:
        return self._create(name, kind, roles, None).user

    def create_user_with_token(
        self,
        name: str,
        kind: str = "user",
        roles: dict[str, str] | None = None,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        created_by: str | None = None,
    ) -> CreatedUser:
        return self._create(name, kind, roles, check_scopes(list(scopes)))

    def _create(
        self, name: str, kind: str, roles: dict[str, str] | None, scopes: list[str] | None
    ) -> CreatedUser:
        if kind not in ("user", "service"):
            raise InvalidValueError(f"A user kind is 'user' or 'service'. Got {kind!r}.")
        for role in (roles or {}).values():
            check_role(role)
        body: dict[str, Any] = {"name": _check_name(name), "kind": kind, "roles": roles or {}}
        body.update({"scopes": scopes, "token": True} if scopes is not None else {"token": False})
        return CreatedUser(**self.client.json("POST", "/users", json=body))

    def get_user(self, name: str) -> User:
        return User(**self.client.json("GET", f"/users/{seg(_check_name(name))}"))

    def list_users(self) -> list[User]:
        return [User(**u) for u in self.client.json("GET", "/users")]

    def count_users(self) -> int:
        return len(self.list_users())

    def set_role(self, name: str, project: str, role: str | None) -> User:
        if not isinstance(project, str) or not project or len(project) > 256:
            raise InvalidValueError(f"A project pattern is 1 to 256 characters. Got {project!r}.")
        if role is not None:
            check_role(role)
        body = {"project": project, "role": role}
        return User(**self.client.json("POST", f"/users/{seg(_check_name(name))}/roles", json=body))

    def set_user_disabled(self, name: str, disabled: bool) -> User:
        body = {"disabled": bool(disabled)}
        return User(**self.client.json("PATCH", f"/users/{seg(_check_name(name))}", json=body))

    # -- tokens ----------------------------------------------------------------------------
    def issue_token(
        self,
        user: str,
        scopes: Sequence[str],
        name: str | None = None,
        expires_at: int | None = None,
    ) -> IssuedToken:
        body = {
            "user": _check_name(user),
            "scopes": check_scopes(list(scopes)),
            "name": name,
            "expires_at": expires_at,
        }
        return IssuedToken(**self.client.json("POST", "/tokens", json=body))

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        params = {"user": user} if user is not None else {}
        return [TokenInfo(**t) for t in self.client.json("GET", "/tokens", params=params)]

    def get_token(self, token_id: int) -> TokenInfo:
        return TokenInfo(**self.client.json("GET", f"/tokens/{int(token_id)}"))

    def revoke_token(self, token_id: int) -> TokenInfo:
        return TokenInfo(**self.client.json("DELETE", f"/tokens/{int(token_id)}"))

    # -- audit -----------------------------------------------------------------------------
    def list_audit_events(
        self,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: int | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        wanted = {"actor": actor, "action": action, "target": target, "since": since}
        params: dict[str, Any] = {k: v for k, v in wanted.items() if v is not None}
        params["limit"] = max(1, min(int(limit), 10000))
        return [AuditEvent(**e) for e in self.client.json("GET", "/audit", params=params)]
