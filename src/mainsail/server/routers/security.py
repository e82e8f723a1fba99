"""Users, service accounts, role bindings, tokens and the audit log (admin only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field, model_validator

from mainsail.core._ids import now_ms
from mainsail.security._models import AuditEvent, CreatedUser, IssuedToken, TokenInfo, User
from mainsail.security._roles import Principal
from mainsail.security._service import issue_token
from mainsail.server._auth import Audit, global_scope, permit, principal_of, reader
from mainsail.server.routers._common import Body, store

router = APIRouter(tags=["security"])

UserName = Annotated[str, Path(min_length=1, max_length=256)]
RoleName = Literal["viewer", "developer", "deployer", "admin"]
ScopeName = Literal["api", "read", "predict", "feedback"]
Project = Annotated[str, Field(min_length=1, max_length=256)]


class UserIn(Body):
    name: Annotated[str, Field(min_length=1, max_length=256)]
    kind: Literal["user", "service"] = "user"
    role: RoleName | None = Field(default=None, description="one binding: this role on project")
    project: Project = "*"
    roles: dict[Project, RoleName] | None = Field(
        default=None, description="or any bindings at once: project pattern -> role"
    )
    scopes: list[ScopeName] = Field(default=["api"], min_length=1)
    token: bool = Field(default=True, description="issue a first token, shown once")

    @model_validator(mode="after")
    def _one_way_to_bind(self) -> UserIn:
        if self.role is not None and self.roles is not None:
            raise ValueError("give either role (with project) or roles, not both")
        return self

    def bindings(self) -> dict[str, str]:
        if self.roles is not None:
            return dict(self.roles)
        return {self.project: self.role} if self.role is not None else {}


class RoleIn(Body):
    project: Project = "*"
    role: RoleName | None = Field(description="the role, or null to remove the binding")


class UserUpdateIn(Body):
    disabled: bool


class TokenIn(Body):
    user: Annotated[str, Field(min_length=1, max_length=256)]
    scopes: list[ScopeName] = Field(default=["api"], min_length=1)
    name: Annotated[str, Field(max_length=256)] | None = None
    expires_in_days: Annotated[float, Field(gt=0, le=3650)] | None = None
    expires_at: Annotated[int, Field(ge=0, le=2**63 - 1, description="epoch ms")] | None = None

    @model_validator(mode="after")
    def _one_expiry(self) -> TokenIn:
        if self.expires_in_days is not None and self.expires_at is not None:
            raise ValueError("give either expires_in_days or expires_at, not both")
        return self


class WhoAmI(Body):
    name: str
    roles: dict[str, str]
    scopes: list[str]
    auth: bool


@router.get("/whoami", response_model=WhoAmI)
async def whoami(request: Request) -> Any:
    p: Principal = await principal_of(request, scope="read")
    return {
        "name": p.name,
        "roles": p.bindings,
        "scopes": list(p.scopes),
        "auth": request.app.state.mainsail.auth,
    }


@router.get("/users", response_model=list[User])
def list_users(request: Request, _: Any = reader(global_scope, role="admin")) -> Any:
    return store(request).list_users()


@router.post("/users", status_code=201, response_model=CreatedUser)
def create_user(
    request: Request, body: UserIn, audit: Audit = permit("users.create", "admin", global_scope)
) -> Any:
    audit.target = f"users/{body.name}"
    s = store(request)
    if body.token:
        created = s.create_user_with_token(
            body.name, body.kind, body.bindings(), body.scopes, created_by=audit.actor
        )
    else:
        user = s.create_user(body.name, body.kind, body.bindings(), created_by=audit.actor)
        created = CreatedUser(user=user)
    token_id = created.token.info.id if created.token is not None else None
    audit.after = {"kind": body.kind, "roles": created.user.roles, "token_id": token_id}
    return created


@router.get("/users/{name:path}", response_model=User)
def get_user(request: Request, name: UserName, _: Any = reader(global_scope, role="admin")) -> Any:
    return store(request).get_user(name)


@router.patch("/users/{name:path}", response_model=User)
def update_user(
    request: Request,
    name: UserName,
    body: UserUpdateIn,
    audit: Audit = permit("users.update", "admin", global_scope),
) -> Any:
    audit.target = f"users/{name}"
    s = store(request)
    audit.before = {"disabled": s.get_user(name).disabled}
    audit.after = {"disabled": body.disabled}
    return s.set_user_disabled(name, body.disabled)


@router.post("/users/{name:path}/roles", response_model=User)
def set_role(
    request: Request,
    name: UserName,
    body: RoleIn,
    audit: Audit = permit("users.set_role", "admin", global_scope),
) -> Any:
    audit.target = f"users/{name}"
    s = store(request)
    audit.before = {"roles": s.get_user(name).roles}
    user = s.set_role(name, body.project, body.role)
    audit.after = {"roles": user.roles}
    return user


@router.get("/tokens", response_model=list[TokenInfo])
def list_tokens(
    request: Request,
    user: Annotated[str | None, Query(max_length=256)] = None,
    _: Any = reader(global_scope, role="admin"),
) -> Any:
    return store(request).list_tokens(user)


@router.post("/tokens", status_code=201, response_model=IssuedToken)
def create_token(
    request: Request, body: TokenIn, audit: Audit = permit("tokens.create", "admin", global_scope)
) -> Any:
    audit.target = f"users/{body.user}/tokens"
    expires = body.expires_at
    if body.expires_in_days is not None:
        expires = now_ms() + int(body.expires_in_days * 86_400_000)
    issued = issue_token(store(request), body.user, body.scopes, body.name, expires)
    audit.target = f"tokens/{issued.info.id}"
    audit.after = issued.info.model_dump(mode="json")  # never the token itself
    return issued


@router.get("/tokens/{token_id}", response_model=TokenInfo)
def get_token(
    request: Request,
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    _: Any = reader(global_scope, role="admin"),
) -> Any:
    return store(request).get_token(token_id)


@router.delete("/tokens/{token_id}", response_model=TokenInfo)
def revoke_token(
    request: Request,
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    audit: Audit = permit("tokens.revoke", "admin", global_scope),
) -> Any:
    audit.target = f"tokens/{token_id}"
    info = store(request).revoke_token(token_id)
    audit.after = {"revoked_at": info.revoked_at}
    return info


@router.get("/audit", response_model=list[AuditEvent])
def list_audit(
    request: Request,
    actor: Annotated[str | None, Query(max_length=256)] = None,
    action: Annotated[str | None, Query(max_length=128)] = None,
    target: Annotated[str | None, Query(max_length=1024)] = None,
    since: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
    _: Any = reader(global_scope, role="admin"),
) -> Any:
    return store(request).list_audit_events(actor, action, target, since, limit)
