"""Users, roles, tokens and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from mainsail.core._roles import DEFAULT_SCOPES
from mainsail.core._security_schemas import AuditEvent, CreatedUser, IssuedToken, TokenInfo, User


@runtime_checkable
class SecurityStore(Protocol):
    """Administration: users, their roles, tokens and the audit log.

    Both stores implement it: next to the database, and through a server's admin routes
    (then the caller's token needs the admin role on ``*``, and the server records who
    did it: ``created_by`` is the authenticated caller there).
    """

    def create_user(
        self,
        name: str,
        kind: str = "user",
        roles: dict[str, str] | None = None,
        created_by: str | None = None,
    ) -> User: ...
    def create_user_with_token(
        self,
        name: str,
        kind: str = "user",
        roles: dict[str, str] | None = None,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        created_by: str | None = None,
    ) -> CreatedUser:
        """A user and its first token (named ``initial``), at once: neither without the other."""
        ...

    def get_user(self, name: str) -> User: ...
    def list_users(self) -> list[User]: ...
    def count_users(self) -> int: ...
    def set_role(self, name: str, project: str, role: str | None) -> User:
        """Bind ``role`` to ``name`` on the project pattern ``project``; ``None`` unbinds."""
        ...

    def set_user_disabled(self, name: str, disabled: bool) -> User: ...
    def issue_token(
        self,
        user: str,
        scopes: Sequence[str],
        name: str | None = None,
        expires_at: int | None = None,
    ) -> IssuedToken:
        """A new random token for ``user``: its plaintext is in the result, only its hash
        is stored."""
        ...

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
    ) -> list[AuditEvent]:
        """Newest first; ``action`` and ``target`` match as prefixes."""
        ...


@runtime_checkable
class AuthStore(Protocol):
    """What the server's authentication, authorisation and audit need, next to the database."""

    def token_principal(self, token_hash: str) -> dict[str, Any] | None: ...
    def touch_token(self, token_id: int) -> None: ...
    def run_experiment(self, run_id: str) -> str | None:
        """The experiment (the project) of a run, ``None`` if the run is unknown."""
        ...

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
