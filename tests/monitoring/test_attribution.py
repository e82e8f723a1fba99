"""Which drift matters: drift weighted by importance, and attribution drift, on real traffic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from starlette.testclient import TestClient

import mainsail
from mainsail.monitoring import write_report
from mainsail.monitoring._attribution import compare_attributions


def frame(n: int, seed: int, shift: dict[str, float] | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "uid"])
    for col, by in (shift or {}).items():
        df[col] = df[col] + by
    return df


@pytest.fixture
def served(ctx) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """models:/gate/1: trees that answer ``a > 0 and b > 0``; ``uid`` plays no part."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from mainsail.serving import ServeSettings, create_app

    X = frame(3000, 0)
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(
        X, ((X["a"] > 0) & (X["b"] > 0)).astype(int)
    )
    mainsail.register_model(model, name="gate", reference=X)
    app = create_app(ctx, ServeSettings(model="models:/gate/1", log_flush_interval=0.2))
    with TestClient(app) as client:

        def send(rows: pd.DataFrame) -> None:
            for i in range(0, len(rows), 250):
                part = rows.iloc[i : i + 250]
                r = client.post(
                    "/invocations", json={"dataframe_records": part.to_dict(orient="records")}
                )
                assert r.status_code == 200, r.text
            client.app.state.plane.predictions.flush()  # type: ignore[attr-defined]

        client.traffic = send  # type: ignore[attr-defined]
        yield client


def test_drift_of_a_feature_the_model_ignores_weighs_nothing(served, ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    served.traffic(frame(1000, 1, shift={"uid": 3.0}))
    mainsail.create_monitor(
        "gate",
        checks=["drift"],
        rules=[{"name": "uid", "metric": "drift.feature.uid.drifted", "op": ">=", "threshold": 1}],
    )
    r = mainsail.run_monitor("gate")
    assert r.drift is not None and r.drift.drifted_columns == ["uid"]
    att = r.attribution
    assert att is not None and att.drifted_importance_share is not None
    assert att.drifted_importance_share < 0.01  # the drift is real and does not matter
    assert att.share_of("uid") is not None and att.share_of("uid") < 0.01
    assert [f.column for f in att.features][:2] in (["a", "b"], ["b", "a"])
    assert r.scores["attribution.drifted_importance"] == att.drifted_importance_share
    assert r.scores["attribution.feature.a.importance"] > 0.4
    # the alert says so: each drifted feature's share of the model's attribution
    ev = r.alerts[0].evidence
    assert ev["features"][0]["column"] == "uid" and ev["features"][0]["importance_share"] < 0.01
    assert ev["drifted_importance_share"] < 0.01
    assert "drifted features carry 0% of the model's attribution" in r.summary()
    html, _ = write_report(ctx, "gate", tmp_path / "report.html")
    assert "Drift weighted by importance" in html.read_text()


def test_drift_of_the_deciding_feature_weighs_much(served, ctx) -> None:  # type: ignore[no-untyped-def]
    served.traffic(frame(1000, 2, shift={"a": 1.5}))
    mainsail.create_monitor("gate", checks=["drift"])
    att = mainsail.run_monitor("gate").attribution
    assert att is not None and att.drifted_importance_share is not None
    assert att.drifted_importance_share > 0.3
    assert next(f for f in att.features if f.column == "a").drifted


def test_attribution_drift_catches_a_broken_correlation(served, ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    live = frame(1000, 3)
    live["b"] = live["a"]  # the same marginals; the rows the model sees are another world
    served.traffic(live)
    mainsail.create_monitor(
        "gate",
        checks=["drift", "attribution"],
        rules=[{"name": "attr", "metric": "attribution.drift.share", "op": ">", "threshold": 0.3}],
    )
    r = mainsail.run_monitor("gate")
    assert r.drift is not None and r.drift.drifted_columns == []  # feature-wise: quiet
    att = r.attribution
    assert att is not None and att.method == "tree" and att.n_reference == 200
    assert att.n_current == 500
    moved = {f.feature: f for f in att.attribution_drift}
    assert moved["a"].drifted and moved["b"].drifted and not moved["uid"].drifted
    assert moved["a"].p_adjusted < 1e-6 and moved["uid"].statistic == 0.0
    assert att.share_drifted == pytest.approx(2 / 3)
    assert r.scores["attribution.drift.share"] == pytest.approx(2 / 3)
    assert [a.rule for a in r.alerts] == ["attr"]
    assert r.alerts[0].evidence["attribution"]["share_drifted"] == pytest.approx(2 / 3)
    html, _ = write_report(ctx, "gate", tmp_path / "report.html")
    assert "Attribution drift" in html.read_text()


def test_unshifted_traffic_has_no_attribution_drift(served, ctx) -> None:  # type: ignore[no-untyped-def]
    served.traffic(frame(1000, 4))
    mainsail.create_monitor("gate", checks=["attribution"])
    att = mainsail.run_monitor("gate").attribution
    assert att is not None and att.share_drifted == 0.0 and att.importance_shift < 0.1


def test_attribution_drift_without_a_reference_sample_says_what_to_do(ctx) -> None:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    from mainsail.serving import ServeSettings, create_app

    X = frame(300, 0)
    model = LogisticRegression().fit(X, (X["a"] > 0).astype(int))
    mainsail.register_model(model, name="bare", input_example=X.head())  # no reference
    app = create_app(ctx, ServeSettings(model="models:/bare/1", log_flush_interval=0.2))
    with TestClient(app) as client:
        r = client.post("/invocations", json={"dataframe_records": X.head(50).to_dict("records")})
        assert r.status_code == 200
        client.app.state.plane.predictions.flush()  # type: ignore[attr-defined]
    mainsail.create_monitor("bare", checks=["attribution"])
    result = mainsail.run_monitor("bare")
    assert result.attribution is not None and result.attribution.share_drifted is None
    assert "registered without reference=" in (result.attribution.skipped or "")
    assert any("attribution:" in e for e in result.errors)


def test_compare_attributions_ignores_rounding_noise() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=200), "dead": rng.normal(size=200) * 1e-18})
    cur = pd.DataFrame({"x": rng.normal(size=300), "dead": rng.normal(size=300) * 1e-18})
    out, shift = compare_attributions(ref, cur, ["x", "dead"])
    assert not any(f.drifted for f in out) and out[1].statistic == 0.0 and shift < 0.05
