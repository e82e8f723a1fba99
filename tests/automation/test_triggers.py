"""Trigger evaluators over real store rows (alerts, monitor results, dataset versions)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

import mainsail
from mainsail.automation._spec import (
    DriftAlertTrigger,
    NewDataTrigger,
    PerformanceTrigger,
    ScheduleTrigger,
)
from mainsail.automation._triggers import EVALUATORS, merge_patch
from mainsail.store import _tables as t

AUTO: dict[str, Any] = {"id": 1, "name": "a", "endpoint": "churn", "created_at": 0}


def _alert(
    ctx: Any,
    rule: str = "drift",
    state: str = "firing",
    updated: int = 1000,
    severity: str = "warning",
    endpoint: str = "churn",
) -> int:
    with ctx.store.db.write() as conn:
        return int(
            conn.execute(
                t.alerts.insert().values(
                    fingerprint=f"{rule}:{endpoint}",
                    rule=rule,
                    endpoint=endpoint,
                    severity=severity,
                    state=state,
                    value=0.6,
                    evidence={"features": ["age"]},
                    count=1,
                    first_seen_at=updated,
                    fired_at=updated,
                    updated_at=updated,
                )
            ).inserted_primary_key[0]
        )


def _evaluate(ctx: Any, trig: Any, state: dict[str, Any], now: int = 10_000) -> Any:
    firing = EVALUATORS[trig.type](ctx, trig, AUTO, state, now, 0)
    if firing is not None:
        merge_patch(state, firing.mark)
    return firing


def test_drift_alert_fires_once_per_evaluation(ctx: Any) -> None:
    trig = DriftAlertTrigger()
    state: dict[str, Any] = {}
    assert _evaluate(ctx, trig, state) is None
    alert_id = _alert(ctx, updated=1000)
    first = _evaluate(ctx, trig, state)
    assert first is not None and first.evidence["alert_id"] == alert_id
    assert _evaluate(ctx, trig, state) is None  # same evidence never fires twice
    with ctx.store.db.write() as conn:
        conn.execute(t.alerts.update().values(updated_at=2000))
    again = _evaluate(ctx, trig, state)
    assert again is not None and again.key != first.key  # re-evaluated and still firing


def test_drift_alert_filters_rule_severity_endpoint_state(ctx: Any) -> None:
    _alert(ctx, rule="latency", updated=1000)
    _alert(ctx, rule="drift", severity="info", updated=1000)
    _alert(ctx, rule="drift", endpoint="other", updated=1000)
    _alert(ctx, rule="drift", state="resolved", updated=1000)
    assert _evaluate(ctx, DriftAlertTrigger(), {}) is None
    assert _evaluate(ctx, DriftAlertTrigger(rules=["latency"]), {}) is not None


def test_loop_guard_ignores_evidence_from_before_our_rollout_settled(ctx: Any) -> None:
    _alert(ctx, updated=1000)
    assert _evaluate(ctx, DriftAlertTrigger(), {"guard_until": 1500}) is None
    assert _evaluate(ctx, DriftAlertTrigger(), {"guard_until": 500}) is not None


def _monitor_result(ctx: Any, ts: int, scores: dict[str, float]) -> None:
    with ctx.store.db.write() as conn:
        mid = conn.execute(t.monitors.select()).first()
        if mid is None:
            mid_id = conn.execute(
                t.monitors.insert().values(
                    endpoint="churn",
                    name="default",
                    spec={},
                    enabled=True,
                    interval_s=60,
                    created_at=0,
                    updated_at=0,
                )
            ).inserted_primary_key[0]
        else:
            mid_id = mid.id
        conn.execute(
            t.monitor_results.insert().values(
                monitor_id=mid_id,
                ts=ts,
                window_start=ts - 60_000,
                window_end=ts,
                status="ok",
                scores=scores,
                result={},
            )
        )


def test_performance_trigger_uses_the_newest_result(ctx: Any) -> None:
    trig = PerformanceTrigger(metric="performance.accuracy", below=0.8, min_coverage=0.5)
    _monitor_result(ctx, 1000, {"performance.accuracy": 0.7, "performance.coverage": 0.9})
    _monitor_result(ctx, 2000, {"performance.accuracy": 0.9, "performance.coverage": 0.9})
    assert _evaluate(ctx, trig, {}) is None  # the newest figure is fine
    _monitor_result(ctx, 3000, {"performance.accuracy": 0.6, "performance.coverage": 0.2})
    assert _evaluate(ctx, trig, {}) is None  # too few labels to trust
    _monitor_result(ctx, 4000, {"performance.accuracy": 0.6, "performance.coverage": 0.8})
    state: dict[str, Any] = {}
    firing = _evaluate(ctx, trig, state)
    assert firing is not None and firing.evidence["value"] == pytest.approx(0.6)
    assert _evaluate(ctx, trig, state) is None


def test_new_data_counts_rows_since_the_baseline(ctx: Any) -> None:
    trig = NewDataTrigger(dataset="tx", min_new_rows=50)
    assert _evaluate(ctx, trig, {}) is None  # no such dataset yet
    mainsail.log_dataset(pd.DataFrame({"a": range(100)}), name="tx")
    state: dict[str, Any] = {}
    first = _evaluate(ctx, trig, state)
    assert first is not None and first.key == ""  # the first look sets the baseline
    assert state["data"]["tx"]["rows"] == 100
    mainsail.log_dataset(pd.DataFrame({"a": range(120)}), name="tx")
    assert _evaluate(ctx, trig, state) is None  # 20 new rows < 50
    mainsail.log_dataset(pd.DataFrame({"a": range(160)}), name="tx")
    firing = _evaluate(ctx, trig, state)
    assert firing is not None and firing.evidence["new_rows"] == 60
    merge_patch(state, firing.on_fire)
    assert _evaluate(ctx, trig, state) is None


def test_schedule_fires_once_per_slot_and_collapses_missed_slots(ctx: Any) -> None:
    trig = ScheduleTrigger(cron="0 * * * *")  # hourly
    start = int(dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.UTC).timestamp() * 1000)
    auto = {**AUTO, "created_at": start}
    state: dict[str, Any] = {}
    ev = EVALUATORS["schedule"]
    assert ev(ctx, trig, auto, state, start + 10 * 60_000, 0) is None
    late = start + 5 * 3600_000  # five slots passed
    firing = ev(ctx, trig, auto, state, late, 0)
    assert firing is not None
    merge_patch(state, firing.mark)
    assert firing.evidence["slot_ms"] == int(
        dt.datetime(2026, 1, 1, 5, 0, tzinfo=dt.UTC).timestamp() * 1000
    )
    assert ev(ctx, trig, auto, state, late + 60_000, 0) is None


def test_the_controller_persists_nested_trigger_marks(ctx: Any) -> None:
    """A second evaluation of the same alert is remembered (state is deep-copied)."""
    from mainsail.automation import AutomationController, create_automation

    create_automation(
        ctx,
        {
            "name": "a",
            "endpoint": "churn",
            "model": "churn",
            "pipeline": "x:y",
            "triggers": [{"type": "drift_alert"}],
            "require_approval": True,
        },
    )
    controller = AutomationController(ctx)
    _alert(ctx, updated=1000)
    controller.tick(10_000)  # awaits approval; seen = 1000
    with ctx.store.db.write() as conn:
        conn.execute(t.alerts.update().values(updated_at=2000))
    controller.tick(11_000)  # suppressed (awaiting approval); seen = 2000
    with ctx.store.db.write() as conn:
        conn.execute(t.alerts.update().values(updated_at=3000))
    controller.tick(12_000)  # only nested values change now; they must persist too
    state = mainsail.get_automation("a").state
    assert state["seen"]["0"] == 3000
    assert state["suppressed"]["awaiting_approval"].endswith(":3000")
