"""Automations over HTTP: declare, inspect, read the trail, run now, approve, switch on/off.

The project of an automation is its endpoint; every mutation needs the deployer role.
Declaring one also needs the deployer role on its model's project: the controller registers
versions of that model and moves its ``promote_alias`` on the automation's behalf.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import Field

from mainsail.automation._api import Automation, AutomationEvent
from mainsail.core._errors import AutomationNotFoundError, AutomationSpecError, InvalidValueError
from mainsail.security._roles import Principal
from mainsail.server._auth import Audit, denied, from_body, looked_up, permit, reader
from mainsail.server.routers._common import Body as StrictBody
from mainsail.server.routers._common import context
from mainsail.store.protocols import LocalStore

router = APIRouter(tags=["automations"])

AutomationName = Annotated[str, Path(min_length=1, max_length=200)]


class RunIn(StrictBody):
    reason: Annotated[str, Field(max_length=2000)] | None = None


@looked_up
def automation_project(request: Request, s: LocalStore) -> str | None:
    """The project of an automation is its endpoint (``None`` if it does not exist)."""
    try:
        return str(s.get_automation_row(str(request.path_params.get("name")))["endpoint"])
    except AutomationNotFoundError:
        return None


def _summary(a: Automation) -> dict[str, Any]:
    return {"endpoint": a.endpoint, "enabled": a.enabled, "spec": a.spec.model_dump(mode="json")}


@router.get("/automations", response_model=list[Automation])
def list_automations(request: Request, principal: Principal = reader()) -> Any:
    from mainsail.automation import list_automations as _list

    return [a for a in _list(context(request)) if principal.role_in(a.endpoint)]


@router.get("/automations/{name}", response_model=Automation)
def get_automation(
    request: Request, name: AutomationName, _: Any = reader(automation_project)
) -> Any:
    from mainsail.automation import get_automation as _get

    return _get(context(request), name)


@router.get("/automations/{name}/events", response_model=list[AutomationEvent])
def automation_trail(
    request: Request,
    name: AutomationName,
    limit: Annotated[int, Query(ge=1, le=10000)] = 200,
    _: Any = reader(automation_project),
) -> Any:
    """The trail, oldest first: what fired, what ran, what it produced."""
    from mainsail.automation import automation_trail as _trail

    return _trail(context(request), name, limit=limit)


@router.put("/automations/{name}", response_model=Automation)
def put_automation(
    request: Request,
    name: AutomationName,
    spec: Annotated[dict[str, Any], Body(description="An automation spec (the YAML form).")],
    audit: Audit = permit("automations.put", "deployer", from_body("endpoint")),
) -> Any:
    """Create the automation, or replace its spec (its state and switch are kept)."""
    from mainsail.automation import create_automation, get_automation

    audit.target = f"automations/{name}"
    if spec.get("name", name) != name:
        raise InvalidValueError(
            f"The spec names automation {spec.get('name')!r} but the path names {name!r}. "
            "Leave 'name' out of the body or make them agree."
        )
    if not isinstance(spec.get("endpoint"), str):
        raise AutomationSpecError(
            "The automation spec needs 'endpoint': the name of the endpoint it retrains for."
        )
    ctx = context(request)
    try:
        before = get_automation(ctx, name)
    except AutomationNotFoundError:
        before = None
    # moving an automation to another endpoint needs the role on both
    if before is not None and not audit.principal.may("deployer", before.endpoint):
        raise denied(audit.principal, "deployer", before.endpoint)
    # the controller registers versions of the model and moves its alias: its project too
    model = spec.get("model")
    if isinstance(model, str) and not audit.principal.may("deployer", model):
        raise denied(audit.principal, "deployer", model)
    audit.before = _summary(before) if before is not None else None
    created = create_automation(ctx, {**spec, "name": name}, import_pipeline=False)
    audit.after = _summary(created)
    return created


@router.post("/automations/{name}/run", status_code=202, response_model=AutomationEvent)
def run_automation(
    request: Request,
    name: AutomationName,
    body: RunIn | None = None,
    audit: Audit = permit("automations.run", "deployer", automation_project),
) -> Any:
    """Ask the controller to retrain now; returns the request event."""
    from mainsail.automation._api import request_automation

    audit.target = f"automations/{name}"
    reason = body.reason if body is not None else None
    event = request_automation(context(request), name, "manual", reason, actor=audit.actor)
    audit.after = {"event": event.id, "reason": reason or "manual run"}
    return event


@router.post("/automations/{name}/approve", status_code=202, response_model=AutomationEvent)
def approve_automation(
    request: Request,
    name: AutomationName,
    audit: Audit = permit("automations.approve", "deployer", automation_project),
) -> Any:
    """Approve the firing that waits for approval; the controller starts it next tick."""
    from mainsail.automation._api import request_automation

    audit.target = f"automations/{name}"
    event = request_automation(context(request), name, "approval", actor=audit.actor)
    audit.after = {"event": event.id}
    return event


def _switch(request: Request, name: str, enabled: bool, audit: Audit) -> Automation:
    from mainsail.automation import get_automation, set_automation_enabled

    audit.target = f"automations/{name}"
    ctx = context(request)
    audit.before = {"enabled": get_automation(ctx, name).enabled}
    out = set_automation_enabled(ctx, name, enabled)
    audit.after = {"enabled": out.enabled}
    return out


@router.post("/automations/{name}/enable", response_model=Automation)
def enable_automation(
    request: Request,
    name: AutomationName,
    audit: Audit = permit("automations.enable", "deployer", automation_project),
) -> Any:
    return _switch(request, name, True, audit)


@router.post("/automations/{name}/disable", response_model=Automation)
def disable_automation(
    request: Request,
    name: AutomationName,
    audit: Audit = permit("automations.disable", "deployer", automation_project),
) -> Any:
    return _switch(request, name, False, audit)
