"""The model registry: versions, metadata, status, aliases and their history.

Moving an alias needs the deployer role; changing its ``require_checks`` gate (on or off)
is a decision of its own: it needs the admin role and leaves its own audit event
(``models.set_gate``), besides the ``models.set_alias`` one, which records the gate too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field

from mainsail.core._errors import ModelNotFoundError
from mainsail.core._registry_schemas import Alias, AliasChange, ModelVersion, RegisteredModel
from mainsail.security._roles import Principal
from mainsail.server._auth import Audit, denied, from_path, permit, reader
from mainsail.server.routers._common import Body, context, store
from mainsail.server.routers.artifacts import check_reference

router = APIRouter(tags=["models"])

ModelName = Annotated[str, Path(min_length=1, max_length=250)]
VersionNo = Annotated[int, Path(ge=1, le=2**31 - 1)]
AliasName = Annotated[str, Path(min_length=1, max_length=64)]


class ModelVersionIn(Body):
    flavor: Annotated[str, Field(min_length=1, max_length=64)]
    manifest_digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    files: dict[str, str]
    size_bytes: Annotated[int, Field(ge=0, le=2**63 - 1)]
    signature: dict[str, Any]
    task: Literal["classification", "regression", "other"]
    classes: list[Any] | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    run_id: Annotated[str, Field(max_length=32)] | None = None
    datasets: list[str] = Field(default_factory=list)
    git_commit: Annotated[str, Field(max_length=64)] | None = None
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    card: dict[str, Any] = Field(default_factory=dict)
    reference_profile: dict[str, Any] | None = None
    allow_pickle: bool = False
    created_by: Annotated[str, Field(max_length=256)] | None = None


class VersionUpdateIn(Body):
    description: str | None = None
    tags: dict[str, str] | None = None
    card: dict[str, Any] | None = None


class StatusIn(Body):
    status: Literal["ready", "archived"]


class AliasIn(Body):
    version: Annotated[int, Field(ge=1, le=2**31 - 1)]
    require_checks: bool | None = None
    actor: Annotated[str, Field(max_length=256)] | None = None


def _actor(request: Request, audit: Audit, given: str | None) -> str | None:
    # With auth on, the authenticated name is the actor; embedded callers may name themselves.
    return given if not request.app.state.mainsail.auth and given else audit.actor


@router.get("/models", response_model=list[RegisteredModel])
def list_models(request: Request, principal: Principal = reader()) -> Any:
    return [m for m in store(request).list_models() if principal.role_in(m.name)]


@router.post("/models/{name}/versions", status_code=201, response_model=ModelVersion)
def create_model_version(
    request: Request,
    name: ModelName,
    body: ModelVersionIn,
    audit: Audit = permit("models.create_version", "developer", from_path("name")),
) -> Any:
    fields = body.model_dump()
    fields["created_by"] = _actor(request, audit, body.created_by)
    check_reference(
        context(request),
        audit.principal,
        body.manifest_digest,
        folder=True,
        files=body.files.values(),
    )
    mv = store(request).create_model_version(name, **fields)
    audit.target = f"models/{name}/{mv.version}"
    audit.after = {"version": mv.version, "manifest_digest": mv.manifest_digest}
    return mv


@router.get("/models/{name}/versions", response_model=list[ModelVersion])
def list_model_versions(
    request: Request, name: ModelName, _: Any = reader(from_path("name"))
) -> Any:
    return store(request).list_model_versions(name)


@router.get("/models/{name}/resolve", response_model=ModelVersion)
def resolve_model_version(
    request: Request,
    name: ModelName,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    alias: Annotated[str | None, Query(max_length=64)] = None,
    _: Any = reader(from_path("name")),
) -> Any:
    return store(request).get_model_version(name, version, alias)


@router.get("/models/{name}/versions/{version}", response_model=ModelVersion)
def get_model_version(
    request: Request, name: ModelName, version: VersionNo, _: Any = reader(from_path("name"))
) -> Any:
    return store(request).get_model_version(name, version)


@router.patch("/models/{name}/versions/{version}", response_model=ModelVersion)
def update_model_version(
    request: Request,
    name: ModelName,
    version: VersionNo,
    body: VersionUpdateIn,
    audit: Audit = permit("models.update_version", "developer", from_path("name")),
) -> Any:
    audit.target = f"models/{name}/{version}"
    s = store(request)
    before = s.get_model_version(name, version)
    fields = body.model_dump(exclude_unset=True, exclude_none=True)
    audit.before = {k: getattr(before, k) for k in fields}
    audit.after = fields
    return s.update_model_version(name, version, **fields) if fields else before


@router.post("/models/{name}/versions/{version}/status", response_model=ModelVersion)
def set_version_status(
    request: Request,
    name: ModelName,
    version: VersionNo,
    body: StatusIn,
    audit: Audit = permit("models.set_status", "deployer", from_path("name")),
) -> Any:
    audit.target = f"models/{name}/{version}"
    s = store(request)
    audit.before = {"status": s.get_model_version(name, version).status}
    audit.after = {"status": body.status}
    return s.set_version_status(name, version, body.status)


@router.delete("/models/{name}/versions/{version}", status_code=204)
def delete_model_version(
    request: Request,
    name: ModelName,
    version: VersionNo,
    audit: Audit = permit("models.delete_version", "deployer", from_path("name")),
) -> None:
    audit.target = f"models/{name}/{version}"
    s = store(request)
    audit.before = {"manifest_digest": s.get_model_version(name, version).manifest_digest}
    s.delete_model_version(name, version)


def _alias_version(name: str, alias: str, request: Request) -> int | None:
    try:
        return int(store(request).get_model_version(name, None, alias).version)
    except ModelNotFoundError:
        return None


@router.put("/models/{name}/aliases/{alias}", response_model=Alias)
def set_alias(
    request: Request,
    name: ModelName,
    alias: AliasName,
    body: AliasIn,
    audit: Audit = permit("models.set_alias", "deployer", from_path("name")),
) -> Any:
    audit.target = f"models/{name}@{alias}"
    s = store(request)
    gate = s.alias_gate(name, alias)
    audit.before = {"version": _alias_version(name, alias, request), "require_checks": gate}
    audit.after = {"version": body.version, "require_checks": body.require_checks}
    wanted = body.require_checks
    changes_gate = wanted is not None and wanted != bool(gate)
    if changes_gate and not audit.principal.may("admin", name):
        raise denied(audit.principal, "admin", name, doing="change the require_checks gate")
    actor = _actor(request, audit, body.actor)
    # a caller who may not change the gate never writes it: whatever is stored stays
    out = s.set_alias(name, alias, body.version, actor, wanted if changes_gate else None)
    audit.after["require_checks"] = out.require_checks
    if changes_gate:
        s.add_audit_event(
            actor=audit.actor,
            action="models.set_gate",
            target=f"models/{name}@{alias}",
            before={"require_checks": gate},
            after={"require_checks": out.require_checks, "version": out.version},
            client=request.client.host if request.client else None,
            status=200,
            request_id=request.headers.get("x-request-id"),
        )
    return out


@router.delete("/models/{name}/aliases/{alias}", status_code=204)
def delete_alias(
    request: Request,
    name: ModelName,
    alias: AliasName,
    actor: Annotated[str | None, Query(max_length=256)] = None,
    audit: Audit = permit("models.delete_alias", "deployer", from_path("name")),
) -> None:
    audit.target = f"models/{name}@{alias}"
    audit.before = {"version": _alias_version(name, alias, request)}
    store(request).delete_alias(name, alias, _actor(request, audit, actor))


@router.get("/models/{name}/alias-history", response_model=list[AliasChange])
def alias_history(
    request: Request,
    name: ModelName,
    alias: Annotated[str | None, Query(max_length=64)] = None,
    _: Any = reader(from_path("name")),
) -> Any:
    return store(request).alias_history(name, alias)
