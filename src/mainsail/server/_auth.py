"""Authentication, permission checks and audit: the dependencies every route declares.

``reader(project)`` guards a read; ``permit(action, role, project)`` guards a mutating
route and writes its audit event, whatever the outcome (allowed, denied or failed).

``project`` resolves the request's project. Without one the route is not tied to a
project (a listing that filters per item, an upload): the role bound to any project will
do. A resolver that answers ``None`` (an unknown run, a body without the field) did not
resolve it: then only the role on every project (``*``) will do, never "any project".
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from mainsail.core._errors import AuthenticationError, MainsailError, PermissionDeniedError
from mainsail.security._roles import ANONYMOUS_ADMIN, Principal

if TYPE_CHECKING:
    from mainsail.server._app import ServerState
    from mainsail.store.protocols import LocalStore

log = logging.getLogger("mainsail.server")

ProjectFn = Callable[[Request, "LocalStore"], "str | None | Awaitable[str | None]"]


@dataclass
class Audit:
    """The audit event a mutating handler may enrich: ``target``, ``before``, ``after``."""

    action: str
    target: str
    principal: Principal
    before: Any = None
    after: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return self.principal.name


def state(request: Request) -> ServerState:
    st: ServerState = request.app.state.mainsail
    return st


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthenticationError(
            "Expected an 'Authorization: Bearer <token>' header; found another scheme. "
            "Create a token with 'mainsail tokens create' and set MAINSAIL_TOKEN."
        )
    return value.strip()


async def principal_of(request: Request, scope: str = "api") -> Principal:
    """The caller, or :class:`AuthenticationError` (401). With auth off: an anonymous admin."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    st = state(request)
    if not st.auth:
        request.state.principal = ANONYMOUS_ADMIN
        return ANONYMOUS_ADMIN
    token = _bearer(request)
    if token is None:
        raise AuthenticationError(
            "This server requires a bearer token and the request had none. Set MAINSAIL_TOKEN "
            "(or send 'Authorization: Bearer <token>'); an admin creates tokens with "
            "'mainsail tokens create USER'."
        )
    principal = await run_in_threadpool(st.authenticator.authenticate, token)
    if principal is None:
        raise AuthenticationError(
            "The bearer token is unknown, revoked or expired, or its user is disabled. "
            "Ask an admin for a new token ('mainsail tokens create USER')."
        )
    allowed = {"api"} if scope == "api" else {scope}
    if scope == "read":
        allowed = {"api", "read"}
    if not allowed & set(principal.scopes):
        raise PermissionDeniedError(
            f"This token has scopes {', '.join(principal.scopes)}; this route needs "
            f"{' or '.join(sorted(allowed))}. Create a token with the right scope."
        )
    request.state.principal = principal
    return principal


async def _project(fn: ProjectFn | None, request: Request, store: LocalStore) -> str | None:
    if fn is None:
        return None
    if inspect.iscoroutinefunction(fn):
        return await fn(request, store)  # type: ignore[no-any-return]
    return await run_in_threadpool(fn, request, store)  # type: ignore[arg-type]


def denied(
    principal: Principal,
    role: str,
    project: str | None,
    *,
    anywhere: bool = False,
    doing: str | None = None,
    hidden: bool = False,
) -> PermissionDeniedError:
    if anywhere:
        where, have = "some project", principal.role_anywhere()
    elif hidden and project is not None:
        # the project was looked up from an id the caller sent: naming it would tell a
        # caller without a role there what another project holds
        where, have = "the project this belongs to", principal.role_in(project)
    elif project is None:
        where = (
            "every project ('*'), since the project of this request could not be "
            "determined (an unknown name or id?)"
        )
        have = principal.role_in(None)
    else:
        where, have = f"project {project!r}", principal.role_in(project)
    to = f" to {doing}" if doing else ""
    return PermissionDeniedError(
        f"{principal.name!r} needs the {role} role on {where}{to}; it has "
        + (f"{have}" if have else "no role there")
        + ". Ask an admin: 'mainsail users grant NAME --role ROLE --project PROJECT'."
    )


async def check_role_for(
    principal: Principal, role: str, fn: ProjectFn | None, request: Request
) -> None:
    """Raise :func:`denied` unless ``principal`` has ``role`` on the request's project."""
    if fn is None:
        if not principal.may_anywhere(role):
            raise denied(principal, role, None, anywhere=True)
        return
    proj = await _project(fn, request, state(request).ctx.database())
    if not principal.may(role, proj):
        raise denied(principal, role, proj, hidden=is_looked_up(fn))


def looked_up(fn: Any) -> Any:
    """Mark a project resolver that reads the project from the store by an id or name the
    caller sent (a run's experiment, an alert's endpoint): a refusal does not name it."""
    fn.__mainsail_looked_up__ = True
    return fn


def is_looked_up(fn: Any) -> bool:
    return bool(getattr(fn, "__mainsail_looked_up__", False))


def reader(project: ProjectFn | None = None, role: str = "viewer") -> Any:
    """Dependency for a read route: an authenticated caller with ``role`` on the project."""

    async def dependency(request: Request) -> Principal:
        principal = await principal_of(request, scope="read")
        await check_role_for(principal, role, project, request)
        return principal

    return Depends(dependency)


def permit(action: str, role: str, project: ProjectFn | None = None) -> Any:
    """Dependency for a mutating route: authenticate, check ``role``, audit the call.

    The handler receives an :class:`Audit` and may set ``target``, ``before`` and ``after``.
    One event is written for every call, allowed or not, with the response status.
    """

    async def dependency(request: Request) -> AsyncIterator[Audit]:
        st = state(request)
        audit = Audit(action, target=request.url.path, principal=Principal("unauthenticated"))
        status = _route_status(request)
        try:
            audit.principal = await principal_of(request)
            await check_role_for(audit.principal, role, project, request)
            yield audit
        except MainsailError as exc:
            status = exc.status
            raise
        except RequestValidationError:  # the body failed validation: the client gets a 422
            status = 422
            raise
        except sa.exc.IntegrityError:
            status = 409
            raise
        except sa.exc.DataError:
            status = 422
            raise
        except Exception:
            status = 500
            raise
        finally:
            await run_in_threadpool(_write_event, st, request, audit, status)

    dependency.__mainsail_permit__ = (action, role)  # type: ignore[attr-defined]
    # scope="function": the event is written before the response is sent, so a caller's next
    # request already sees it (blob ownership is read from upload events).
    return Depends(dependency, scope="function")


def _route_status(request: Request) -> int:
    route = request.scope.get("route")
    code = getattr(route, "status_code", None)
    return int(code) if code else 200


def _write_event(st: ServerState, request: Request, audit: Audit, status: int) -> None:
    client = request.client.host if request.client else None
    try:
        st.ctx.database().add_audit_event(
            actor=audit.actor,
            action=audit.action,
            target=audit.target,
            before=_json_safe(audit.before),
            after=_json_safe(audit.after),
            client=client,
            status=status,
            request_id=request.headers.get("x-request-id") or uuid.uuid4().hex,
        )
    except Exception:  # noqa: BLE001 - a failed audit write is logged, never silent
        log.exception("could not write the audit event for %s %s", audit.action, audit.target)


def _json_safe(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True)
    import orjson

    try:
        return orjson.loads(orjson.dumps(value, default=str))
    except TypeError:
        return str(value)


def is_permitted_route(dependant_calls: list[Any]) -> tuple[str, str] | None:
    """The (action, role) a route declared with :func:`permit`, if any."""
    for call in dependant_calls:
        marker = getattr(call, "__mainsail_permit__", None)
        if marker is not None:
            return marker  # type: ignore[no-any-return]
    return None


# -- project resolvers ------------------------------------------------------------------------
def from_path(param: str) -> ProjectFn:
    """The project is a path parameter (a model or dataset name)."""

    def fn(request: Request, store: LocalStore) -> str | None:
        value = request.path_params.get(param)
        return str(value) if value is not None else None

    return fn


def from_body(key: str) -> ProjectFn:
    """The project is a field of the JSON body (an experiment name)."""

    async def fn(request: Request, store: LocalStore) -> str | None:
        try:
            body = await request.json()
        except Exception:  # noqa: BLE001 - validation reports the bad body
            return None
        value = body.get(key) if isinstance(body, dict) else None
        return value if isinstance(value, str) else None

    return fn


@looked_up
def run_project(request: Request, store: LocalStore) -> str | None:
    """The project of a run is its experiment (``None`` if the run is unknown)."""
    return store.run_experiment(str(request.path_params.get("run_id")))


def global_scope(request: Request, store: LocalStore) -> str:
    """Server-wide actions (users, tokens, audit) need the role on project ``*``."""
    return "*"
