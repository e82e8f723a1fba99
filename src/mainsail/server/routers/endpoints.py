"""Endpoints and rollouts: deploy, inspect, steer a rollout, A/B and shadow reports.

The project of every route is the endpoint name; mutations need the deployer role.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field

from mainsail.core._errors import EndpointNotFoundError, NotFoundError
from mainsail.rollout._types import ACTIVE_STATES, ABReport, Endpoint, Rollout, ShadowReport
from mainsail.security._roles import Principal
from mainsail.server._auth import Audit, from_path, permit, reader
from mainsail.server.routers._common import Body, context, store

router = APIRouter(tags=["endpoints"])

EndpointName = Annotated[str, Path(min_length=1, max_length=250)]
RolloutId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Action = Literal["promote", "pause", "resume", "abort", "rollback"]


class DeployIn(Body):
    model: Annotated[str, Field(min_length=1, max_length=500)]
    strategy: Annotated[str, Field(min_length=1, max_length=32)] = "direct"
    spec: dict[str, Any] | None = None
    reason: Annotated[str, Field(max_length=2000)] | None = None


class WinnerIn(Body):
    arm: Annotated[str, Field(min_length=1, max_length=64)]


def _variants(request: Request, name: str) -> list[dict[str, Any]] | None:
    try:
        rev = store(request).get_revision(name)
    except EndpointNotFoundError:
        return None
    return list(rev["variants"]) if rev is not None else None


def _rollout_state(request: Request, name: str) -> dict[str, Any] | None:
    rec = store(request).get_rollout_record(name)
    return {"id": rec["id"], "state": rec["state"]} if rec is not None else None


@router.get("/endpoints", response_model=list[Endpoint])
def list_endpoints(request: Request, principal: Principal = reader()) -> Any:
    from mainsail.rollout import list_endpoints as _list

    return [e for e in _list(context(request)) if principal.role_in(e.name)]


@router.get("/endpoints/{name}", response_model=Endpoint)
def get_endpoint(request: Request, name: EndpointName, _: Any = reader(from_path("name"))) -> Any:
    from mainsail.rollout import get_endpoint as _get

    return _get(context(request), name)


@router.get("/endpoints/{name}/rollouts", response_model=list[Rollout])
def list_rollouts(
    request: Request,
    name: EndpointName,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    _: Any = reader(from_path("name")),
) -> Any:
    from mainsail.rollout import list_rollouts as _list

    store(request).get_endpoint_record(name, history=False)  # 404 for an unknown endpoint
    return _list(context(request), name, limit=limit)


@router.get("/rollouts", response_model=list[Rollout])
def list_all_rollouts(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    principal: Principal = reader(),
) -> Any:
    """Rollouts of every endpoint the caller may see, newest first."""
    from mainsail.rollout import list_endpoints
    from mainsail.rollout import list_rollouts as _list

    ctx = context(request)
    if principal.role_in("*") is not None:
        return _list(ctx, None, limit=limit)
    # a scoped caller: the newest of its own endpoints, so others' never crowd them out
    mine = [e.name for e in list_endpoints(ctx) if principal.role_in(e.name)]
    rows = [r for name in mine for r in _list(ctx, name, limit=limit)]
    return sorted(rows, key=lambda r: r.id, reverse=True)[:limit]


@router.get("/endpoints/{name}/rollouts/latest", response_model=Rollout)
def latest_rollout(request: Request, name: EndpointName, _: Any = reader(from_path("name"))) -> Any:
    from mainsail.rollout import get_rollout

    found = get_rollout(context(request), name)
    if found is None:
        raise NotFoundError(
            f"Endpoint {name!r} has no rollout yet. Deploy a model first: "
            f"POST /api/v1/endpoints/{name}/deploy."
        )
    return found


@router.get("/endpoints/{name}/rollouts/{rollout_id}", response_model=Rollout)
def get_rollout(
    request: Request,
    name: EndpointName,
    rollout_id: RolloutId,
    _: Any = reader(from_path("name")),
) -> Any:
    from mainsail.rollout import get_rollout as _get

    found = _get(context(request), name, rollout_id)  # an unknown endpoint: 404
    if found is None:
        raise NotFoundError(
            f"Endpoint {name!r} has no rollout {rollout_id}. List them with "
            f"GET /api/v1/endpoints/{name}/rollouts or: mainsail rollout status {name}."
        )
    return found


@router.post("/endpoints/{name}/deploy", status_code=201, response_model=Rollout)
def deploy(
    request: Request,
    name: EndpointName,
    body: DeployIn,
    audit: Audit = permit("endpoints.deploy", "deployer", from_path("name")),
) -> Any:
    from mainsail.rollout import deploy as _deploy

    audit.target = f"endpoints/{name}"
    audit.before = {"variants": _variants(request, name)}
    rollout = _deploy(
        context(request),
        name,
        body.model,
        strategy=body.strategy,
        spec=body.spec,
        source=f"api:{audit.actor}",
        reason=body.reason,
    )
    audit.after = {
        "model": body.model,
        "strategy": rollout.strategy,
        "rollout": rollout.id,
        "state": rollout.state,
        "variants": _variants(request, name),
    }
    return rollout


@router.post("/endpoints/{name}/rollout/{action}", response_model=Rollout)
def steer_rollout(
    request: Request,
    name: EndpointName,
    action: Action,
    audit: Audit = permit("endpoints.rollout", "deployer", from_path("name")),
) -> Any:
    """Promote, pause, resume, abort or roll back the endpoint's rollout."""
    from mainsail.rollout import rollback
    from mainsail.rollout._controller import RolloutController

    audit.target = f"endpoints/{name}"
    store(request).get_endpoint_record(name, history=False)  # 404 for an unknown endpoint
    audit.before = _rollout_state(request, name)
    ctl = RolloutController(context(request))
    actor = audit.actor
    if action == "promote":
        out = ctl.promote(name, actor)
    elif action == "pause":
        out = ctl.pause(name)
    elif action == "resume":
        out = ctl.resume(name)
    elif action == "abort":
        out = ctl.abort(name, actor)
    else:
        active = store(request).get_rollout_record(name)
        if active is not None and active["state"] in ACTIVE_STATES:
            out = ctl.roll_back(name, actor)
        else:  # no active rollout: back to the previous settled revision
            out = rollback(context(request), name)
    audit.after = {"action": action, "id": out.id, "state": out.state}
    return out


@router.post("/endpoints/{name}/winner", response_model=Rollout)
def declare_winner(
    request: Request,
    name: EndpointName,
    body: WinnerIn,
    audit: Audit = permit("endpoints.declare_winner", "deployer", from_path("name")),
) -> Any:
    """End the endpoint's A/B test: arm ``a`` or ``b`` becomes the stable variant."""
    from mainsail.rollout._controller import RolloutController

    audit.target = f"endpoints/{name}"
    store(request).get_endpoint_record(name, history=False)
    audit.before = _rollout_state(request, name)
    out = RolloutController(context(request)).declare_winner(name, body.arm, audit.actor)
    audit.after = {"winner": body.arm, "id": out.id, "state": out.state}
    return out


@router.get("/endpoints/{name}/ab-report", response_model=ABReport)
def ab_report(
    request: Request,
    name: EndpointName,
    alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
    mde: Annotated[float | None, Query(gt=0, le=1e12)] = None,
    _: Any = reader(from_path("name")),
) -> Any:
    from mainsail.rollout import ab_report as _report

    store(request).get_endpoint_record(name, history=False)
    return _report(context(request), name, alpha=alpha, mde=mde)


@router.get("/endpoints/{name}/shadow-report", response_model=ShadowReport)
def shadow_report(request: Request, name: EndpointName, _: Any = reader(from_path("name"))) -> Any:
    from mainsail.rollout import shadow_report as _report

    store(request).get_endpoint_record(name, history=False)
    return _report(context(request), name)
