"""Records of users, tokens and audit events, as the store returns them (the store layer
reads and writes them, so they live here; :mod:`mainsail.security` re-exports them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class User(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    kind: Literal["user", "service"]
    disabled: bool = False
    created_at: int
    created_by: str | None = None
    roles: dict[str, str] = Field(default_factory=dict, description="project pattern -> role")


class TokenInfo(BaseModel):
    """A token as listed: never the token itself, only its prefix."""

    model_config = ConfigDict(frozen=True)

    id: int
    user: str
    name: str | None = None
    prefix: str
    scopes: list[str]
    created_at: int
    expires_at: int | None = None
    revoked_at: int | None = None
    last_used_at: int | None = None


class IssuedToken(BaseModel):
    """A newly issued token: ``token`` is shown this once and never again."""

    token: str
    info: TokenInfo


class AuditEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    ts: int
    actor: str
    action: str
    target: str
    before: Any = None
    after: Any = None
    client: str | None = None
    status: int | None = None
    request_id: str | None = None
