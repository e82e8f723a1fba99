"""SDK functions for automations: declare, inspect, run by hand, approve.

Against a server (``MAINSAIL_TRACKING_URI``) each function calls the server's
``/api/v1/automations`` routes, which need the deployer role on the automation's endpoint
to change anything and audit every change; they return the same objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from mainsail.automation._spec import AutomationSpec, parse_spec
from mainsail.core._errors import AutomationNotFoundError, InvalidValueError
from mainsail.store._context import Context
from mainsail.store._rest_client import seg


class Automation(BaseModel):
    """An automation as stored: its spec, whether it is on, and the controller's state."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    endpoint: str
    enabled: bool
    spec: AutomationSpec
    state: dict[str, Any]
    last_triggered_at: int | None
    created_at: int
    updated_at: int

    @property
    def in_flight(self) -> dict[str, Any] | None:
        return self.state.get("in_flight")


class AutomationEvent(BaseModel):
    """One step of an automation's trail, linked to what that step produced."""

    model_config = ConfigDict(frozen=True)

    id: int
    ts: int
    trigger: str
    status: str
    detail: dict[str, Any]
    job_id: int | None = None
    pipeline_run_id: str | None = None
    model_version: int | None = None
    check_result_id: int | None = None
    rollout_id: int | None = None


def _path(name: str, tail: str = "") -> str:
    if not isinstance(name, str) or not name:
        raise AutomationNotFoundError(
            f"Expected an automation name (a non-empty string). Got {name!r}. List them with "
            "mainsail.list_automations()."
        )
    return f"/automations/{seg(name)}{tail}"


def _from_row(row: dict[str, Any]) -> Automation:
    return Automation(**{**row, "spec": parse_spec(row["spec"]), "state": row["state"] or {}})


def create_automation(
    ctx: Context, spec: AutomationSpec | dict[str, Any] | str | Path
) -> Automation:
    """Declare (or replace) an automation from a spec object, a dict or a YAML file.

    Examples
    --------
    >>> import mainsail
    >>> mainsail.create_automation({  # doctest: +SKIP
    ...     "name": "churn-retrain", "endpoint": "churn", "model": "churn",
    ...     "pipeline": "flows:retrain", "triggers": [{"type": "drift_alert"}],
    ...     "checks": {"policy": "checks.yaml"}, "cooldown": "6h"})
    """
    parsed = parse_spec(spec)
    if (api := ctx.remote) is not None:
        body = parsed.model_dump(mode="json")
        return Automation.model_validate(api.json("PUT", _path(parsed.name), json=body))
    store = ctx.database()
    store.put_automation(parsed.name, parsed.endpoint, parsed.model_dump(mode="json"))
    return get_automation(ctx, parsed.name)


def get_automation(ctx: Context, name: str) -> Automation:
    """An automation by name (:class:`AutomationNotFoundError` if there is none)."""
    if (api := ctx.remote) is not None:
        return Automation.model_validate(api.json("GET", _path(name)))
    return _from_row(ctx.database().get_automation_row(name))


def list_automations(ctx: Context) -> list[Automation]:
    """Every automation (against a server: those on endpoints the caller may read)."""
    if (api := ctx.remote) is not None:
        return [Automation.model_validate(a) for a in api.json("GET", "/automations")]
    return [_from_row(r) for r in ctx.database().list_automation_rows()]


def set_automation_enabled(ctx: Context, name: str, enabled: bool) -> Automation:
    """Switch an automation on or off; returns it."""
    if (api := ctx.remote) is not None:
        tail = "/enable" if enabled else "/disable"
        return Automation.model_validate(api.json("POST", _path(name, tail)))
    store = ctx.database()
    row = store.get_automation_row(name)
    store.update_automation(row["id"], enabled=enabled)
    return get_automation(ctx, name)


def automation_trail(ctx: Context, name: str, limit: int = 200) -> list[AutomationEvent]:
    """The automation's events, oldest first: what fired, what ran, what it produced."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10000:
        raise InvalidValueError(f"limit must be an integer in 1..10000. Got {limit!r}.")
    if (api := ctx.remote) is not None:
        data = api.json("GET", _path(name, "/events"), params={"limit": limit})
        return [AutomationEvent.model_validate(e) for e in data]
    store = ctx.database()
    row = store.get_automation_row(name)
    return [AutomationEvent(**e) for e in store.automation_events(row["id"], limit=limit)]


def _request(ctx: Context, name: str, kind: str, detail: dict[str, Any]) -> int:
    store = ctx.database()
    row = store.get_automation_row(name)
    return int(store.add_automation_event(row["id"], kind, "requested", detail))


def trigger_automation(
    ctx: Context, name: str, reason: str | None = None, actor: str | None = None
) -> int:
    """Ask the controller to retrain now (the in-flight guard still applies; the cooldown
    does not: a person asked). Returns the request's event id.

    Against a server the actor is the caller's user (``actor`` is ignored there)."""
    if (api := ctx.remote) is not None:
        event = api.json("POST", _path(name, "/run"), json={"reason": reason})
        return int(event["id"])
    return _request(ctx, name, "manual", {"reason": reason or "manual run", "actor": actor})


def approve_automation(ctx: Context, name: str, actor: str | None = None) -> int:
    """Approve the firing that waits for approval; the controller starts it on its next tick.

    Against a server the approver is the caller's user (``actor`` is ignored there)."""
    if (api := ctx.remote) is not None:
        return int(api.json("POST", _path(name, "/approve"))["id"])
    return _request(ctx, name, "approval", {"actor": actor})
