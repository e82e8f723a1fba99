"""Users, roles, tokens and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from mainsail.core._security_schemas import AuditEvent, TokenInfo, User


@runtime_checkable
class SecurityStore(Protocol):
    """Administration: users, their roles, tokens and the audit log."""

    def create_user(
        self,
        name: str,
        kind: str = "user",
        roles: dict[str, str] | None = None,
        created_by: str | None = None,
    ) -> User: ...
    def get_user(self, name: str) -> User: ...
    def list_users(self) -> list[User]: ...
    def count_users(self) -> int: ...
    def set_role(self, name: str, project: str, role: str | None) -> User: ...
    def set_user_disabled(self, name: str, disabled: bool) -> User: ...
    def create_token(
        self,
        user: str,
        token_hash: str,
        prefix: str,
        scopes: Sequence[str],
        name: str | None = None,
        expires_at: int | None = None,
    ) -> TokenInfo: ...
    def list_tokens(self, user: str | None = None) -> list[TokenInfo]: ...
    def get_token(self, token_id: int) -> TokenInfo: ...
    def revoke_token(self, token_id: int) -> TokenInfo: ...
    def list_audit_events(
        self,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: int | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]: ...


@runtime_checkable
class AuthStore(Protocol):
    """What the server's authentication and audit need, next to the database."""

    def token_principal(self, token_hash: str) -> dict[str, Any] | None: ...
    def touch_token(self, token_id: int) -> None: ...
    def add_audit_event(
        self,
        actor: str,
        action: str,
        target: str,
        before: Any = None,
        after: Any = None,
        client: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        ts: int | None = None,
    ) -> None: ...
