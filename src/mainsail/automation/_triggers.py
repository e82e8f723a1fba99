"""Trigger evaluators: each reads the store and says whether its trigger fires now.

A :class:`Firing` carries a ``key`` (the same evidence never fires twice), the evidence
itself, and two state patches: ``mark`` (applied whenever the firing is seen, acted on or
suppressed) and ``on_fire`` (applied only when it sets off a retraining).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mainsail.automation._spec import (
    DriftAlertTrigger,
    NewDataTrigger,
    PerformanceTrigger,
    ScheduleTrigger,
)
from mainsail.core._errors import NotFoundError
from mainsail.store import _tables as t

if TYPE_CHECKING:
    from mainsail.store._context import Context

_SEVERITY = {"info": 0, "warning": 1, "critical": 2}


@dataclass
class Firing:
    type: str
    key: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    mark: dict[str, Any] = field(default_factory=dict)
    on_fire: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "key": self.key, "summary": self.summary, **self.evidence}


Evaluator = Callable[["Context", Any, dict[str, Any], dict[str, Any], int, int], "Firing | None"]


def _seen(state: dict[str, Any], index: int) -> Any:
    return state.get("seen", {}).get(str(index))


def _seen_patch(index: int, value: Any) -> dict[str, Any]:
    return {"seen": {str(index): value}}


def drift_alert(
    ctx: Context,
    trig: DriftAlertTrigger,
    auto: dict[str, Any],
    state: dict[str, Any],
    now: int,
    index: int,
) -> Firing | None:
    """A firing alert on the endpoint, evaluated after the automation's own last change."""
    guard = int(state.get("guard_until") or 0)
    seen = int(_seen(state, index) or 0)
    q = (
        sa.select(t.alerts)
        .where(t.alerts.c.endpoint == auto["endpoint"], t.alerts.c.state == "firing")
        .order_by(t.alerts.c.updated_at.desc())
    )
    with ctx.database().db.read() as conn:
        rows = conn.execute(q).all()
    for a in rows:
        matches = a.rule in trig.rules if trig.rules else "drift" in a.rule.lower()
        if not matches or _SEVERITY.get(a.severity, 0) < _SEVERITY[trig.min_severity]:
            continue
        # Loop guard: evidence gathered before our own rollout settled does not count.
        if a.updated_at <= guard or a.updated_at <= seen:
            continue
        evidence = a.evidence or {}
        return Firing(
            type="drift_alert",
            key=f"alert:{a.id}:{a.updated_at}",
            summary=f"alert '{a.rule}' ({a.severity}) firing on {auto['endpoint']}",
            evidence={
                "alert_id": a.id,
                "rule": a.rule,
                "value": a.value,
                "features": evidence.get("features"),
            },
            mark=_seen_patch(index, a.updated_at),
        )
    return None


def performance(
    ctx: Context,
    trig: PerformanceTrigger,
    auto: dict[str, Any],
    state: dict[str, Any],
    now: int,
    index: int,
) -> Firing | None:
    """The newest monitor result of the endpoint has ``metric`` below the floor."""
    guard = int(state.get("guard_until") or 0)
    seen = int(_seen(state, index) or 0)
    q = (
        sa.select(t.monitor_results.c.id, t.monitor_results.c.ts, t.monitor_results.c.scores)
        .join(t.monitors, t.monitors.c.id == t.monitor_results.c.monitor_id)
        .where(t.monitors.c.endpoint == auto["endpoint"])
        .where(t.monitor_results.c.ts > max(guard, seen))
        .order_by(t.monitor_results.c.ts.desc())
        .limit(20)
    )
    with ctx.database().db.read() as conn:
        rows = conn.execute(q).all()
    for r in rows:
        scores = r.scores or {}
        value = scores.get(trig.metric)
        if value is None:
            continue
        coverage = scores.get("performance.coverage", 1.0)
        mark = _seen_patch(index, r.ts)
        if value < trig.below and (coverage or 0.0) >= trig.min_coverage:
            return Firing(
                type="performance",
                key=f"monitor_result:{r.id}",
                summary=f"{trig.metric} = {value:.4g} < {trig.below:g} on {auto['endpoint']}",
                evidence={
                    "monitor_result_id": r.id,
                    "metric": trig.metric,
                    "value": value,
                    "label_coverage": coverage,
                },
                mark=mark,
            )
        return None  # the newest figure is fine
    return None


def new_data(
    ctx: Context,
    trig: NewDataTrigger,
    auto: dict[str, Any],
    state: dict[str, Any],
    now: int,
    index: int,
) -> Firing | None:
    """The dataset's newest version has enough rows beyond the one last trained on."""
    try:
        latest = ctx.store.get_dataset_version(trig.dataset)
    except NotFoundError:
        return None
    base = state.get("data", {}).get(trig.dataset)
    current = {"version": latest.version, "rows": latest.row_count}
    if base is None:  # first look: this is the baseline, not news
        return Firing("new_data", "", "", mark={"data": {trig.dataset: current}})
    new_rows = latest.row_count - int(base["rows"])
    if latest.version == base["version"] or new_rows < trig.min_new_rows:
        return None
    return Firing(
        type="new_data",
        key=f"dataset:{trig.dataset}:{latest.version}",
        summary=(
            f"datasets:/{trig.dataset}/{latest.version} has {new_rows} new rows "
            f"(since version {base['version']})"
        ),
        evidence={"dataset": trig.dataset, "version": latest.version, "new_rows": new_rows},
        on_fire={"data": {trig.dataset: current}},
    )


def schedule(
    ctx: Context,
    trig: ScheduleTrigger,
    auto: dict[str, Any],
    state: dict[str, Any],
    now: int,
    index: int,
) -> Firing | None:
    """A cron slot passed since the last one; missed slots collapse into one firing."""
    from croniter import croniter

    last = int(_seen(state, index) or auto["created_at"])
    it = croniter(trig.cron, dt.datetime.fromtimestamp(last / 1000, dt.UTC))
    slot = int(it.get_next(float) * 1000)
    if slot > now:
        return None
    while True:
        nxt = int(it.get_next(float) * 1000)
        if nxt > now:
            break
        slot = nxt
    return Firing(
        type="schedule",
        key=f"cron:{slot}",
        summary=f"schedule '{trig.cron}' slot {dt.datetime.fromtimestamp(slot / 1000, dt.UTC):%Y-%m-%d %H:%M}Z",
        evidence={"cron": trig.cron, "slot_ms": slot},
        mark=_seen_patch(index, slot),
    )


EVALUATORS: dict[str, Evaluator] = {
    "drift_alert": drift_alert,  # type: ignore[dict-item]
    "performance": performance,  # type: ignore[dict-item]
    "new_data": new_data,  # type: ignore[dict-item]
    "schedule": schedule,  # type: ignore[dict-item]
}


def merge_patch(state: dict[str, Any], patch: dict[str, Any]) -> None:
    """Apply a nested state patch (dicts merge, anything else replaces)."""
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(state.get(k), dict):
            merge_patch(state[k], v)
        else:
            state[k] = v
