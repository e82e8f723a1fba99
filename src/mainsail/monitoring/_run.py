"""A monitor run next to the data: evaluate, store the result, move the alerts, notify.

:func:`execute` is what the monitor controller and the local monitoring service call; a
client's ``run_monitor`` reaches it through the server (see ``_service``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from mainsail.core._durations import parse_duration
from mainsail.core._errors import MainsailError
from mainsail.core._ids import now_ms as _now
from mainsail.monitoring._alerts import (
    Alert,
    AlertRule,
    evaluate,
    list_alerts_in,
    parse_rules,
    record_notify_errors,
)
from mainsail.monitoring._evaluate import evaluate_monitor
from mainsail.monitoring._notifiers import global_hooks, notify
from mainsail.monitoring._sources import read_log
from mainsail.monitoring._spec import Monitor, MonitorResult, Status

if TYPE_CHECKING:
    from mainsail.store._context import Context
    from mainsail.store.protocols import LocalStore


def _evidence(r: MonitorResult, example_rows: list[dict[str, Any]]) -> Any:
    def build(rule: AlertRule) -> dict[str, Any]:
        ev: dict[str, Any] = {
            "model_version": r.model_version,
            "window_start": r.window_start,
            "window_end": r.window_end,
            "monitor": r.name,
        }
        area = rule.metric.split(".", 1)[0]
        if area == "drift" and r.drift is not None:
            cols = [c for c in r.drift.columns if c.drifted]
            if rule.metric.startswith("drift.feature."):
                col = rule.metric.split(".")[2]
                cols = [c for c in r.drift.columns if c.column == col]
            ev["features"] = [
                {
                    "column": c.column,
                    "test": c.test,
                    "statistic": c.statistic,
                    "effect_size": c.effect_size,
                    "p_value": c.p_adjusted,
                    "n_reference": c.n_reference,
                    "n_current": c.n_current,
                }
                for c in cols
            ]
            ev["share_drifted"] = r.drift.share_drifted
            if r.attribution is not None and r.attribution.importance:
                # which of the drifted features matter to the model's predictions
                for f in ev["features"]:
                    f["importance_share"] = r.attribution.share_of(f["column"])
                ev["drifted_importance_share"] = r.attribution.drifted_importance_share
        if area == "attribution" and r.attribution is not None:
            ev["attribution"] = r.attribution.model_dump(mode="json")
        if area == "quality" and r.quality is not None:
            ev["issues"] = [i.model_dump(mode="json") for i in r.quality.issues[:20]]
        if area == "performance" and r.performance is not None:
            p = r.performance
            ev.update(
                metrics=p.metrics, reference=p.reference, coverage=p.coverage, labelled=p.labelled
            )
        if area == "operational" and r.operational is not None:
            ev["operational"] = r.operational.model_dump(mode="json")
        ev["example_rows"] = example_rows
        return ev

    return build


def _examples(ctx: Context, r: MonitorResult, k: int = 5) -> list[dict[str, Any]]:
    if r.drift is None or not r.drift.drifted_columns:
        return []
    root = ctx.settings.resolved_artifact_root()
    rows = read_log(
        root, "predictions", r.endpoint, max(r.window_start, r.window_end - 600_000), r.window_end
    )
    if rows.empty:
        return []
    keep = ["request_id", "ts"] + [f"input.{c}" for c in r.drift.drifted_columns]
    sample = rows[[c for c in keep if c in rows]].tail(k)
    return list(orjson.loads(sample.to_json(orient="records")))


def _rules(monitor: Monitor) -> list[AlertRule]:
    spec_rules = monitor.spec.rules
    return parse_rules([x.model_dump() for x in spec_rules] if spec_rules is not None else None)


def execute(
    ctx: Context, monitor: Monitor, window_s: float | None, now: int | None
) -> MonitorResult:
    """Evaluate ``monitor`` over the window ending ``now``, store the result, apply its alert
    rules and send the notifications of alerts that started firing or resolved."""
    store = ctx.database("Running a monitor")
    now = now if now is not None else _now()
    try:
        r = evaluate_monitor(ctx, monitor, window_s, now).result
    except MainsailError as exc:
        r = MonitorResult(
            monitor_id=monitor.id,
            endpoint=monitor.endpoint,
            name=monitor.name,
            ts=now,
            window_start=now - int((window_s or parse_duration(monitor.spec.window)) * 1000),
            window_end=now,
            status="failed",
            errors=[exc.message],
        )
    rules = _rules(monitor)
    events: list[tuple[Alert, str]] = []
    if r.status != "no_data":
        examples = _examples(ctx, r)
        events = evaluate(
            store, monitor.endpoint, rules, r.scores, _evidence(r, examples), now, monitor.name
        )
        names = {x.name for x in rules}
        r.alerts = [
            a
            for s in ("firing", "pending")
            for a in list_alerts_in(store, monitor.endpoint, s)
            if a.rule in names and a.evidence.get("monitor", monitor.name) == monitor.name
        ]
        r.status = _status(r)
    r.id = store.add_monitor_result(
        monitor.id,
        {
            "ts": r.ts,
            "window_start": r.window_start,
            "window_end": r.window_end,
            "model_version": r.model_version,
            "status": r.status,
            "scores": r.scores,
            "result": r.model_dump(mode="json", exclude={"alerts"}),
        },
        next_run_at=now + monitor.interval_s * 1000,
    )
    for alert, event in events:
        send(store, [*monitor.spec.notifiers, *global_hooks()], alert, event)
    return r


def send(store: LocalStore, specs: list[str | dict[str, Any]], alert: Alert, event: str) -> None:
    """Tell ``specs`` about ``alert``; what failed lands in the alert's evidence."""
    record_notify_errors(store, alert, notify(specs, alert, event))


def notifiers_of(store: LocalStore, alert: Alert) -> list[str | dict[str, Any]]:
    """Who hears about ``alert``: the notifiers of the monitor that raised it (for alerts
    from before alerts named it: of its endpoint's monitors whose rules raise it), and the
    hooks that hear every monitor."""
    specs: list[str | dict[str, Any]] = []
    owner = (alert.evidence or {}).get("monitor")
    if alert.endpoint is not None:
        for row in store.list_monitor_rows(alert.endpoint):
            monitor = Monitor.model_validate(row)
            if owner is not None and monitor.name != owner:
                continue
            if any(rule.name == alert.rule for rule in _rules(monitor)):
                specs.extend(s for s in monitor.spec.notifiers if s not in specs)
    return [*specs, *(h for h in global_hooks() if h not in specs)]


def _status(r: MonitorResult) -> Status:
    firing = [a for a in r.alerts if a.state == "firing"]
    if any(a.severity == "critical" for a in firing):
        return "failed"
    if r.alerts or (r.drift is not None and r.drift.dataset_drift):
        return "warning"
    if r.quality is not None and r.quality.issues:
        return "warning"
    return "ok"


__all__ = ["execute", "notifiers_of", "send"]
