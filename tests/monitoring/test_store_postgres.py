"""Monitors, results and the alert lifecycle on PostgreSQL (the team deployment)."""

from __future__ import annotations

import pytest

import mainsail
from mainsail.monitoring import AlertRule, MonitorController, list_results, render_prometheus
from mainsail.monitoring._alerts import evaluate

pytestmark = pytest.mark.postgres


def test_monitor_and_alerts_on_postgres(pg_url, home, make_churn) -> None:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    ctx = mainsail.configure(home=str(home), database_url=pg_url)
    X = make_churn(500)[["age", "income"]]
    mainsail.register_model(
        LogisticRegression().fit(X, X["age"] > 40),
        name="churn",
        input_example=X.head(),
        reference=X,
    )
    m = mainsail.create_monitor("churn", checks=["drift"], notifiers=[])
    MonitorController(ctx).tick(int(m.next_run_at or 0))
    (r,) = list_results(ctx, "churn")
    assert r.status == "no_data"
    rule = AlertRule(name="drift", metric="drift.share", op=">", threshold=0.1, for_s=10)
    evaluate(ctx.store.db, "churn", [rule], {"drift.share": 0.5}, lambda r: {}, 0)
    events = evaluate(ctx.store.db, "churn", [rule], {"drift.share": 0.5}, lambda r: {}, 10_000)
    assert [(a.state, e) for a, e in events] == [("firing", "firing")]
    assert b'mainsail_alerts_firing{endpoint="churn",severity="warning"} 1.0' in render_prometheus(
        ctx
    )
    events = evaluate(ctx.store.db, "churn", [rule], {"drift.share": 0.0}, lambda r: {}, 20_000)
    assert [e for _, e in events] == ["resolved"]
    assert mainsail.list_alerts("churn")[0].count == 2
