"""SDK functions for automations: declare, inspect, run by hand, approve.

Automations are records in the store, and a run or an approval asked for by hand is a
``requested`` event the controller acts on, so every function here goes through the store
(``ctx.store``). Against a server (``MAINSAIL_TRACKING_URI``) that is the REST store, whose
``/api/v1/automations`` routes need the deployer role on the automation's endpoint to change
anything and audit every change; the functions return the same objects either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from mainsail.automation._spec import AutomationSpec, parse_spec
from mainsail.core._errors import AutomationSpecError, InvalidValueError, PipelineDefinitionError
from mainsail.store._context import Context
from mainsail.store.protocols.automation import RequestKind


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


def _from_row(row: dict[str, Any]) -> Automation:
    return Automation(**{**row, "spec": parse_spec(row["spec"]), "state": row["state"] or {}})


def create_automation(
    ctx: Context,
    spec: AutomationSpec | dict[str, Any] | str | Path,
    *,
    import_pipeline: bool = True,
) -> Automation:
    """Declare (or replace) an automation from a spec object, a dict or a YAML file.

    The datasets it trains and checks on (``params.dataset``, ``params.*_dataset``,
    ``checks.data``) must exist, and when the pipeline's module imports here, the name must
    be a ``@mainsail.pipeline`` in it — a typo fails now, not at the first retraining. (A
    ``new_data`` trigger may wait for a dataset that does not exist yet; a module that is only
    on the worker's path cannot be checked here.) The server passes ``import_pipeline=False``:
    it does not import its callers' code.

    Examples
    --------
    >>> import mainsail
    >>> mainsail.create_automation({  # doctest: +SKIP
    ...     "name": "churn-retrain", "endpoint": "churn", "model": "churn",
    ...     "pipeline": "flows:retrain", "triggers": [{"type": "drift_alert"}],
    ...     "checks": {"policy": "checks.yaml"}, "cooldown": "6h"})
    """
    parsed = parse_spec(spec)
    check_references(ctx, parsed, import_pipeline=import_pipeline)
    row = ctx.store.put_automation(parsed.name, parsed.endpoint, parsed.model_dump(mode="json"))
    return _from_row(row)


def check_references(ctx: Context, spec: AutomationSpec, *, import_pipeline: bool = True) -> None:
    """Raise :class:`AutomationSpecError` for a dataset or pipeline the spec names that is not
    there, saying where it is named and what exists."""
    from mainsail.core._uris import parse_address

    named: list[tuple[str, str]] = [
        (str(v), f"params.{k}")
        for k, v in spec.params.items()
        if isinstance(v, str) and (k == "dataset" or k.endswith("_dataset"))
    ]
    data = spec.checks.data
    if isinstance(data, str) and data.startswith("datasets:/"):
        named.append((parse_address(data, kind="datasets").name, "checks.data"))
    if named:
        known = sorted(d.name for d in ctx.store.list_datasets())
        missing = [(n, where) for n, where in named if n not in known]
        if missing:
            said = ", ".join(f"'{n}' ({where})" for n, where in missing)
            raise AutomationSpecError(
                f"Automation '{spec.name}' names dataset(s) that do not exist: {said}. Known "
                f"datasets: {', '.join(known) or 'none yet'}. Fix the name, or log the data "
                "first (mainsail.log_dataset(df, name=...))."
            )
    module = spec.pipeline.rsplit(":", 1)[0]
    if import_pipeline and (module.endswith(".py") or _importable(module)):
        from mainsail.pipelines._runner import resolve_pipeline

        try:
            resolve_pipeline(spec.pipeline)
        except PipelineDefinitionError as exc:
            raise AutomationSpecError(
                f"Automation '{spec.name}': {exc.message} The worker imports the pipeline the "
                "same way, so create the automation from the folder (or PYTHONPATH) it uses."
            ) from None


def _importable(module: str) -> bool:
    import importlib.util
    import os
    import sys

    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as resolve_pipeline (and the worker) look
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package, or an invalid name
        return False


def get_automation(ctx: Context, name: str) -> Automation:
    """An automation by name (:class:`AutomationNotFoundError` if there is none)."""
    return _from_row(ctx.store.get_automation_row(name))


def list_automations(ctx: Context) -> list[Automation]:
    """Every automation (against a server: those on endpoints the caller may read)."""
    return [_from_row(r) for r in ctx.store.list_automation_rows()]


def set_automation_enabled(ctx: Context, name: str, enabled: bool) -> Automation:
    """Switch an automation on or off; returns it."""
    return _from_row(ctx.store.set_automation_enabled(name, enabled))


def automation_trail(ctx: Context, name: str, limit: int = 200) -> list[AutomationEvent]:
    """The automation's events, oldest first: what fired, what ran, what it produced."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10000:
        raise InvalidValueError(f"limit must be an integer in 1..10000. Got {limit!r}.")
    return [AutomationEvent.model_validate(e) for e in ctx.store.automation_trail_rows(name, limit)]


def request_automation(
    ctx: Context,
    name: str,
    kind: RequestKind,
    reason: str | None = None,
    actor: str | None = None,
) -> AutomationEvent:
    """Append the ``requested`` event the controller acts on next tick: a run now
    (``"manual"``) or the approval of the firing that waits (``"approval"``)."""
    return AutomationEvent.model_validate(ctx.store.request_automation(name, kind, reason, actor))


def trigger_automation(
    ctx: Context, name: str, reason: str | None = None, actor: str | None = None
) -> int:
    """Ask the controller to retrain now (the in-flight guard still applies; the cooldown
    does not: a person asked). Returns the request's event id.

    Against a server the actor is the caller's user (``actor`` is ignored there)."""
    return request_automation(ctx, name, "manual", reason=reason, actor=actor).id


def approve_automation(ctx: Context, name: str, actor: str | None = None) -> int:
    """Approve the firing that waits for approval; the controller starts it on its next tick.

    Against a server the approver is the caller's user (``actor`` is ignored there)."""
    return request_automation(ctx, name, "approval", actor=actor).id
