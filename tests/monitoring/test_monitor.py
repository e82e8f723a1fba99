"""Monitors end to end over real prediction logs, feedback and live sketches."""

from __future__ import annotations

import pytest

import mainsail
from mainsail.core import InvalidValueError, NotFoundError
from mainsail.monitoring import (
    MonitorController,
    drift,
    get_monitor,
    list_results,
    load_sketches,
    monitor_from_yaml,
    read_log,
    results_frame,
)
from mainsail.monitoring._sources import inputs_of


def test_run_monitor_on_drifted_traffic(served, ctx, make_churn) -> None:  # type: ignore[no-untyped-def]
    served.traffic(make_churn(2000, seed=1, age_shift=10), label_every=2)
    mainsail.create_monitor(
        "churn",
        window="1h",
        rules=[
            {"name": "age-drift", "metric": "drift.feature.age.drifted", "op": ">=", "threshold": 1}
        ],
    )
    r = mainsail.run_monitor("churn")
    assert r.status == "warning" and r.model_version == "1" and r.source == "sketches"
    assert r.drift is not None and r.drift.drifted_columns == ["age"]
    age = r.drift["age"]
    assert age.test == "wasserstein" and age.effect_size > 0.5 and age.n_current == 2000
    # Older customers churn more: the model's outputs shift too, against its outputs on the
    # reference (profiled at registration), and are reported apart from the features.
    pred = r.drift.prediction
    assert pred is not None and pred.column == "prediction" and pred.is_prediction
    assert pred.drifted and pred.n_current == 2000 and pred.n_reference == 3000
    assert r.scores["drift.prediction.drifted"] == 1.0
    # performance from the labels that arrived: every other request, so coverage 1/2
    assert r.performance is not None and r.performance.coverage == pytest.approx(0.5)
    assert r.performance.labelled == 1000 and r.performance.metrics["accuracy"] > 0.9
    # The log carries the positive-class probability, so ranking and calibration are scored.
    assert r.performance.metrics["roc_auc"] > 0.95
    assert 0 < (r.performance.metrics["log_loss"] or 0) < 0.3
    assert r.operational is not None and r.operational.requests == 20 and r.operational.rows == 2000
    assert r.operational.latency_ms["p99"] is not None and r.operational.replicas == 1
    for key in (
        "drift.share",
        "drift.feature.age.score",
        "quality.missing_rate.age",
        "performance.accuracy",
        "performance.coverage",
        "operational.latency_p50_ms",
    ):
        assert key in r.scores, key
    assert [a.rule for a in r.alerts] == ["age-drift"] and r.alerts[0].state == "firing"
    ev = r.alerts[0].evidence
    assert ev["features"][0]["column"] == "age" and ev["features"][0]["effect_size"] > 0.5
    assert ev["example_rows"] and "input.age" in ev["example_rows"][0]
    stored = list_results(ctx, "churn")
    assert len(stored) == 1 and stored[0].drift is not None and stored[0].status == "warning"
    frame = results_frame(ctx, "churn")
    assert list(frame["status"]) == ["warning"] and frame["drift.share"].iloc[0] == pytest.approx(
        1 / 3
    )
    d = r.to_dict()
    assert d["drift"]["columns"][0]["column"] == "age"


def test_unshifted_traffic_is_ok_and_no_traffic_is_no_data(served, ctx, make_churn) -> None:  # type: ignore[no-untyped-def]
    mainsail.create_monitor("churn", checks=["drift", "operational"])
    assert mainsail.run_monitor("churn").status == "no_data"
    served.traffic(make_churn(2000, seed=5))
    r = mainsail.run_monitor("churn")
    assert r.status == "ok", r.summary()
    assert r.drift is not None and r.drift.drifted_columns == [] and r.quality is None
    assert r.drift.prediction is not None and not r.drift.prediction.drifted
    assert r.scores["drift.prediction.drifted"] == 0.0
    assert not mainsail.list_alerts(state="firing")
    # a window that ends before the traffic sees nothing
    assert mainsail.run_monitor("churn", now_ms=1_000_000).status == "no_data"


def test_sketch_and_raw_verdicts_agree(served, ctx, make_churn) -> None:  # type: ignore[no-untyped-def]
    served.traffic(make_churn(3000, seed=2, age_shift=3, plan_p=[0.3, 0.3, 0.4]))
    root = ctx.settings.resolved_artifact_root()
    ref = mainsail.get_model_version("models:/churn/1").reference_profile
    from mainsail.data import Profile

    reference = Profile.from_dict(ref)
    sketch = load_sketches(root, "churn", 0, 2**62)["1"]
    assert sketch.rows == 3000 and sketch.profile is not None
    raw = inputs_of(read_log(root, "predictions", "churn"))
    cols = ["age", "income", "plan"]
    by_sketch = drift(reference, sketch.profile, columns=cols)
    by_raw = drift(reference, raw[cols], columns=cols)
    assert by_sketch.drifted_columns == by_raw.drifted_columns == ["age", "plan"]
    for c in cols:
        assert by_sketch[c].test == by_raw[c].test
        assert by_sketch[c].statistic == pytest.approx(by_raw[c].statistic, rel=0.1, abs=0.01)


def test_controller_runs_due_monitors_and_persists_next_run(served, ctx, make_churn) -> None:  # type: ignore[no-untyped-def]
    served.traffic(make_churn(500, seed=3))
    m = mainsail.create_monitor("churn", interval="5m", checks=["drift"])
    ctrl = MonitorController(ctx)
    assert ctrl.name == "monitors"
    now = int(m.next_run_at or 0) + 1
    ctrl.tick(now)
    after = get_monitor(ctx, "churn")
    assert after.last_run_at == now and after.next_run_at == now + 300_000
    ctrl.tick(now + 1000)  # not due yet
    assert len(list_results(ctx, "churn")) == 1
    ctrl.tick(now + 300_000)
    assert len(list_results(ctx, "churn")) == 2
    mainsail.create_monitor("churn", interval="5m", checks=["drift"], enabled=False)
    ctrl.tick(now + 10_000_000)
    assert len(list_results(ctx, "churn")) == 2


@pytest.mark.usefixtures("loopback_webhooks")
def test_create_is_an_upsert_and_yaml(ctx) -> None:  # type: ignore[no-untyped-def]
    a = mainsail.create_monitor("churn", window="1h")
    b = mainsail.create_monitor("churn", window="30m", checks=["drift"])
    assert a.id == b.id and b.spec.window == "30m" and b.spec.checks == ["drift"]
    made = monitor_from_yaml(
        ctx,
        """
monitors:
  - endpoint: churn
    name: nightly
    window: 1d
    interval: 1h
    checks: [drift, performance]
    rules:
      - {name: acc, metric: performance.accuracy, op: "<", threshold: 0.8, for_s: 600, severity: critical}
    notifiers: [log, {type: webhook, url: "http://127.0.0.1:9/hook", format: slack}]
""",
    )
    assert made[0].name == "nightly" and made[0].interval_s == 3600
    assert made[0].spec.rules is not None and made[0].spec.rules[0].severity == "critical"
    assert {m.name for m in mainsail.list_monitors()} == {"default", "nightly"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"checks": ["drift", "vibes"]}, "subset of drift, quality"),
        ({"window": "an hour"}, "Expected a duration"),
        (
            {"rules": [{"name": "x", "metric": "drift.share", "op": "~", "threshold": 1}]},
            "op must be",
        ),
        ({"notifiers": [{"type": "pager"}]}, "Notifier spec needs 'type'"),
        ({"notifiers": [{"type": "webhook", "url": "ftp://x"}]}, "http(s) URL"),
        ({"max_drift_share": 0}, "max_drift_share must be in"),
    ],
)
def test_bad_monitor_definitions(ctx, kwargs, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        mainsail.create_monitor("churn", **kwargs)


def test_unknown_monitor_lists_known_ones(ctx) -> None:  # type: ignore[no-untyped-def]
    mainsail.create_monitor("churn")
    with pytest.raises(NotFoundError, match="Known monitors: churn/default"):
        mainsail.run_monitor("fraud")
    with pytest.raises(InvalidValueError, match="Expected a monitor mapping"):
        monitor_from_yaml(ctx, "- 3\n- 4\n")


def test_performance_scores_the_probability_of_the_model_s_last_class(ctx, make_churn) -> None:  # type: ignore[no-untyped-def]
    # Labels "2" and "10" read as numbers but sklearn orders them as text (["10", "2"]); the
    # server logs P("2"), the registered version's last class, and the monitor must score it.
    from sklearn.linear_model import LogisticRegression
    from starlette.testclient import TestClient

    from mainsail.serving import ServeSettings, create_app

    X = make_churn(600)[["age", "income"]]
    y = ["10" if a > 40 else "2" for a in X["age"]]
    model = LogisticRegression(max_iter=500).fit(X, y)
    mv = mainsail.register_model(model, name="tenure", input_example=X.head(), reference=X)
    assert mv.classes == ["10", "2"]
    app = create_app(ctx, ServeSettings(model="models:/tenure/1", log_flush_interval=0.2))
    with TestClient(app) as client:
        for i in range(0, 600, 100):
            part = X.iloc[i : i + 100]
            r = client.post(
                "/invocations", json={"dataframe_records": part.to_dict(orient="records")}
            )
            assert r.status_code == 200, r.text
            label = [y[j] for j in range(i, i + 100)]
            fb = [{"request_id": r.headers["x-request-id"], "label": label}]
            assert client.post("/v1/feedback", json=fb).status_code == 200
        plane = client.app.state.plane  # type: ignore[attr-defined]
        plane.predictions.flush()
        plane.feedback.flush()
    mainsail.create_monitor("tenure", window="1h", checks=["performance"])
    perf = mainsail.run_monitor("tenure").performance
    assert perf is not None and perf.labelled == 600 and perf.metrics["accuracy"] > 0.9
    assert perf.metrics["roc_auc"] > 0.95  # inverted (< 0.05) if "10" were taken as positive


def test_drift_share_is_a_deprecated_name_of_max_drift_share(ctx) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    from mainsail.monitoring import DriftReport, MonitorSpec

    with pytest.deprecated_call(match="use max_drift_share"):
        m = mainsail.create_monitor("churn", drift_share=0.3)
    assert m.spec.max_drift_share == 0.3 and "drift_share" not in m.spec.model_dump()
    with pytest.deprecated_call(match="YAML key 'drift_share'"):
        (y,) = monitor_from_yaml(ctx, "endpoint: churn\nname: y\ndrift_share: 0.2\n")
    assert y.spec.max_drift_share == 0.2
    with pytest.deprecated_call(), pytest.raises(InvalidValueError, match="max_drift_share"):
        mainsail.create_monitor("churn", drift_share=3)
    # what was stored before the rename still loads, without a warning
    assert MonitorSpec.model_validate({"endpoint": "e", "drift_share": 0.4}).max_drift_share == 0.4
    old = {"columns": [], "drift_share": 0.4, "share_drifted": 0.0, "dataset_drift": False}
    report = DriftReport.model_validate(old)
    assert report.max_drift_share == 0.4
    with pytest.deprecated_call(match="share_drifted"):
        assert report.drift_share == 0.4
    ref = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.deprecated_call(match="use max_drift_share"):
        assert drift(ref, ref, drift_share=0.25).max_drift_share == 0.25
