"""Endpoints and rollouts: deploy, inspect, steer a rollout, A/B and shadow reports.

The project of every route is the endpoint name; mutations need the deployer role. A deploy
also needs the viewer role on the project of the model it sends (its name): a deployer of
``team-a`` cannot serve, and so read through predictions, a model it may not see.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field

import mainsail.rollout as rollout
from mainsail.core._errors import EndpointNotFoundError, NotFoundError
from mainsail.core._uris import parse_address
from mainsail.rollout import ABReport, Endpoint, Rollout, ShadowReport
from mainsail.security._roles import Principal
from mainsail.server._auth import Audit, denied, from_path, permit, reader
from mainsail.server.routers._common import Body, context

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
        found = rollout.get_endpoint(context(request), name)
    except EndpointNotFoundError:
        return None
    return [v.model_dump() for v in found.variants]


def _rollout_state(request: Request, name: str) -> dict[str, Any] | None:
    found = rollout.get_rollout(context(request), name)  # an unknown endpoint: 404
    return {"id": found.id, "state": found.state} if found is not None else None


@router.get("/endpoints", response_model=list[Endpoint])
def list_endpoints(request: Request, principal: Principal = reader()) -> Any:

    return [e for e in rollout.list_endpoints(context(request)) if principal.role_in(e.name)]


@router.get("/endpoints/{name}", response_model=Endpoint)
def get_endpoint(request: Request, name: EndpointName, _: Any = reader(from_path("name"))) -> Any:

    return rollout.get_endpoint(context(request), name)


@router.get("/endpoints/{name}/rollouts", response_model=list[Rollout])
def list_rollouts(
    request: Request,
    name: EndpointName,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    _: Any = reader(from_path("name")),
) -> Any:

    return rollout.list_rollouts(context(request), name, limit=limit)  # unknown: 404


@router.get("/rollouts", response_model=list[Rollout])
def list_all_rollouts(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    principal: Principal = reader(),
) -> Any:
    """Rollouts of every endpoint the caller may see, newest first."""

    ctx = context(request)
    if principal.role_in("*") is not None:
        return rollout.list_rollouts(ctx, None, limit=limit)
    # a scoped caller: the newest of its own endpoints, so others' never crowd them out
    mine = [e.name for e in rollout.list_endpoints(ctx) if principal.role_in(e.name)]
    rows = [r for name in mine for r in rollout.list_rollouts(ctx, name, limit=limit)]
    return sorted(rows, key=lambda r: r.id, reverse=True)[:limit]


@router.get("/endpoints/{name}/rollouts/latest", response_model=Rollout)
def latest_rollout(request: Request, name: EndpointName, _: Any = reader(from_path("name"))) -> Any:

    found = rollout.get_rollout(context(request), name)
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

    found = rollout.get_rollout(context(request), name, rollout_id)  # unknown endpoint: 404
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

    audit.target = f"endpoints/{name}"
    model = parse_address(body.model, "models")  # a bad address: 422 before anything else
    if not audit.principal.may("viewer", model.name):
        raise denied(audit.principal, "viewer", model.name)
    audit.before = {"variants": _variants(request, name)}
    started = rollout.deploy(
        context(request),
        name,
        body.model,
        strategy=body.strategy,
        spec=body.spec,
        source=f"api:{audit.actor}",
        reason=body.reason,
        actor=audit.actor,
    )
    audit.after = {
        "model": body.model,
        "strategy": started.strategy,
        "rollout": started.id,
        "state": started.state,
        "variants": _variants(request, name),
    }
    return started


@router.post("/endpoints/{name}/rollout/{action}", response_model=Rollout)
def steer_rollout(
    request: Request,
    name: EndpointName,
    action: Action,
    audit: Audit = permit("endpoints.rollout", "deployer", from_path("name")),
) -> Any:
    """Promote, pause, resume, abort or roll back the endpoint's rollout."""

    audit.target = f"endpoints/{name}"
    audit.before = _rollout_state(request, name)  # an unknown endpoint: 404
    ctx, actor = context(request), audit.actor
    if action == "promote":
        out = rollout.promote(ctx, name, actor=actor)
    elif action == "pause":
        out = rollout.pause(ctx, name)
    elif action == "resume":
        out = rollout.resume(ctx, name)
    elif action == "abort":
        out = rollout.abort(ctx, name, actor=actor)
    else:  # the active rollout, or back to the previous settled revision
        out = rollout.rollback(ctx, name, actor=actor)
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

    audit.target = f"endpoints/{name}"
    audit.before = _rollout_state(request, name)  # an unknown endpoint: 404
    out = rollout.declare_winner(context(request), name, body.arm, actor=audit.actor)
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

    return rollout.ab_report(context(request), name, alpha=alpha, mde=mde)


@router.get("/endpoints/{name}/shadow-report", response_model=ShadowReport)
def shadow_report(request: Request, name: EndpointName, _: Any = reader(from_path("name"))) -> Any:

    return rollout.shadow_report(context(request), name)
