"""SDK functions for automations: declare, inspect, run by hand, approve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from mainsail.automation._spec import AutomationSpec, parse_spec


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


def _store() -> Any:
    from mainsail.client._context import get_context

    return get_context().store


def _from_row(row: dict[str, Any]) -> Automation:
    return Automation(**{**row, "spec": parse_spec(row["spec"]), "state": row["state"] or {}})


def create_automation(spec: AutomationSpec | dict[str, Any] | str | Path) -> Automation:
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
    store = _store()
    store.put_automation(parsed.name, parsed.endpoint, parsed.model_dump(mode="json"))
    return get_automation(parsed.name)


def get_automation(name: str) -> Automation:
    return _from_row(_store().get_automation_row(name))


def list_automations() -> list[Automation]:
    return [_from_row(r) for r in _store().list_automation_rows()]


def set_automation_enabled(name: str, enabled: bool) -> Automation:
    store = _store()
    row = store.get_automation_row(name)
    store.update_automation(row["id"], enabled=enabled)
    return get_automation(name)


def automation_trail(name: str, limit: int = 200) -> list[AutomationEvent]:
    """The automation's events, oldest first: what fired, what ran, what it produced."""
    store = _store()
    row = store.get_automation_row(name)
    return [AutomationEvent(**e) for e in store.automation_events(row["id"], limit=limit)]


def _request(name: str, kind: str, detail: dict[str, Any]) -> int:
    store = _store()
    row = store.get_automation_row(name)
    return int(store.add_automation_event(row["id"], kind, "requested", detail))


def trigger_automation(name: str, reason: str | None = None, actor: str | None = None) -> int:
    """Ask the controller to retrain now (the in-flight guard still applies; the cooldown
    does not: a person asked). Returns the request's event id."""
    return _request(name, "manual", {"reason": reason or "manual run", "actor": actor})


def approve_automation(name: str, actor: str | None = None) -> int:
    """Approve the firing that waits for approval; the controller starts it on its next tick."""
    return _request(name, "approval", {"actor": actor})
