"""Performance from delayed labels: the join copes with late, missing and repeated labels."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mainsail.monitoring import join_labels, performance


def preds(n_requests: int, rows: int = 1, start: int = 0, step: int = 1000) -> pd.DataFrame:
    out = []
    for i in range(n_requests):
        for r in range(rows):
            out.append(
                {"request_id": f"r{i}", "row": r, "ts": start + i * step, "prediction": i % 2}
            )
    return pd.DataFrame(out)


def labels(ids: list[str], values: list[object], ts: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"request_id": ids, "label": [orjson.dumps(v).decode() for v in values], "ts": ts}
    )


def test_missing_and_late_labels_are_reported_as_coverage() -> None:
    p = preds(10)
    fb = pd.concat(
        [
            labels(["r0", "r1", "r2"], [0, 1, 1], ts=5_000),  # on time (r2 wrong)
            labels(["r3"], [1], ts=90_000),  # late: after the window end
        ]
    )
    r = performance(p, fb, window_end_ms=10_000)
    assert r.predictions == 10 and r.labelled == 4 and r.coverage == pytest.approx(0.4)
    assert r.late_labels == 1
    assert r.metrics["accuracy"] == pytest.approx(0.75)
    assert "coverage 40.0%" in r.summary()


def test_latest_label_wins_and_lists_label_each_row() -> None:
    p = preds(2, rows=3)
    fb = pd.concat(
        [
            labels(["r0"], [[1, 1, 1]], ts=1),
            labels(["r0"], [[0, 0, 1]], ts=2),  # a correction arrives later
            labels(["r1"], [1], ts=3),  # one label for every row of the request
        ]
    )
    j = join_labels(p, fb)
    assert j["label"].tolist() == [0, 0, 1, 1, 1, 1]
    r = performance(p, fb)
    assert r.coverage == 1.0 and r.metrics["accuracy"] == pytest.approx(5 / 6)


def test_no_labels_yet() -> None:
    r = performance(preds(5), pd.DataFrame())
    assert r.labelled == 0 and r.coverage == 0 and r.metrics["accuracy"] is None
    assert "performance.accuracy" not in r.scores()


def test_regression_metrics_and_trend() -> None:
    p = preds(20, step=60_000)
    p["prediction"] = np.arange(20, dtype=float)
    fb = labels([f"r{i}" for i in range(0, 20, 2)], [float(i) + 1 for i in range(0, 20, 2)], ts=0)
    r = performance(p, fb, task="regression", reference={"mae": 0.5}, bucket_ms=300_000)
    assert r.metrics["mae"] == pytest.approx(1.0) and r.metrics["rmse"] == pytest.approx(1.0)
    assert r.scores()["performance.mae_delta"] == pytest.approx(0.5)
    assert [t["predictions"] for t in r.trend] == [5, 5, 5, 5]
    assert all(
        t["coverage"] == pytest.approx(0.6) or t["coverage"] == pytest.approx(0.4) for t in r.trend
    )


def test_probabilities_give_auc_and_log_loss() -> None:
    p = preds(4)
    p["probability"] = [0.1, 0.9, 0.2, 0.8]
    r = performance(p, labels(["r0", "r1", "r2", "r3"], [0, 1, 0, 1], ts=0))
    assert r.metrics["roc_auc"] == 1.0 and r.metrics["log_loss"] == pytest.approx(0.164, abs=1e-3)


def test_numeric_labels_pick_the_last_class_as_numbers_do() -> None:
    # a classifier trained on labels 2 and 10 logs P(10): 10 is its last class, not "2"
    p = preds(4)
    p["prediction"] = [2, 10, 2, 10]
    p["probability"] = [0.1, 0.9, 0.2, 0.8]
    r = performance(p, labels(["r0", "r1", "r2", "r3"], [2, 10, 2, 10], ts=0))
    assert r.metrics["roc_auc"] == 1.0 and r.metrics["log_loss"] == pytest.approx(0.164, abs=1e-3)


@pytest.mark.parametrize("labels_are", ["ints", "strings"])
def test_the_model_s_last_class_is_positive_for_auc_and_log_loss(labels_are: str) -> None:
    # sklearn orders int classes as numbers ([2, 10]) but string ones as text (["10", "2"]):
    # the logged probability is for classes_[-1], which only the model version knows.
    from sklearn.linear_model import LogisticRegression

    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    y = (
        np.array([2, 2, 2, 10, 10, 10])
        if labels_are == "ints"
        else np.array(["2"] * 3 + ["10"] * 3)
    )
    model = LogisticRegression().fit(X, y)
    last = model.classes_.tolist()[-1]
    assert last == (10 if labels_are == "ints" else "2")
    p = preds(6)
    p["prediction"] = model.predict(X).tolist()
    p["probability"] = model.predict_proba(X)[:, -1]
    fb = labels([f"r{i}" for i in range(6)], y.tolist(), ts=0)
    r = performance(p, fb, positive=last, bucket_ms=10_000)
    assert r.metrics["roc_auc"] == 1.0 and r.metrics["log_loss"] < 0.7
    assert r.trend[0]["roc_auc"] == 1.0
    wrong = performance(p, fb, positive=model.classes_.tolist()[0])
    assert wrong.metrics["roc_auc"] == 0.0  # the class the probability is not for


def test_rows_without_a_probability_are_left_out_of_auc_and_log_loss() -> None:
    p = preds(6)
    p["probability"] = [0.1, 0.9, 0.2, 0.8, np.nan, np.nan]  # the last two: another variant
    r = performance(p, labels([f"r{i}" for i in range(6)], [0, 1, 0, 1, 1, 0], ts=0))
    assert r.metrics["roc_auc"] == 1.0 and r.metrics["log_loss"] == pytest.approx(0.164, abs=1e-3)
    p["probability"] = np.nan
    r = performance(p, labels([f"r{i}" for i in range(6)], [0, 1, 0, 1, 1, 0], ts=0))
    assert r.metrics["roc_auc"] is None and r.metrics["accuracy"] is not None


def test_log_rows_keep_probabilities_when_some_batches_have_none(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mainsail.serving._predlog import SegmentWriter, read_segments

    w = SegmentWriter(str(tmp_path), "predictions", "ep")
    meta = {"endpoint": "ep", "ts": np.array([1, 2]), "request_id": np.array(["a", "a"])}
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    w.append(frame, np.array([0, 1]), **meta)  # a variant without predict_proba
    w.append(frame, np.array([1, 1]), **meta, probability=np.array([0.7, 0.9]))
    assert w.flush() == 4
    logged = read_segments(str(tmp_path), "predictions", "ep")
    assert sorted(logged["probability"].fillna(-1).tolist()) == [-1, -1, 0.7, 0.9]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.booleans(), min_size=1, max_size=40),
    st.lists(st.booleans(), min_size=1, max_size=40),
)
def test_coverage_is_the_share_of_labelled_predictions(
    labelled: list[bool], correct: list[bool]
) -> None:
    n = len(labelled)
    p = preds(n)
    ids = [f"r{i}" for i in range(n) if labelled[i]]
    vals = [(i % 2) if correct[i % len(correct)] else 1 - (i % 2) for i in range(n) if labelled[i]]
    r = performance(p, labels(ids, vals, ts=0) if ids else pd.DataFrame())
    assert r.coverage == pytest.approx(sum(labelled) / n)
    if ids:
        expect = np.mean([correct[i % len(correct)] for i in range(n) if labelled[i]])
        assert r.metrics["accuracy"] == pytest.approx(expect)


def test_multiclass_probabilities_give_one_vs_rest_auc() -> None:
    """A logged probability vector per row: ROC-AUC over every class, not the last one."""
    from sklearn import metrics as skm

    from mainsail.monitoring._performance import compute_metrics

    rng = np.random.default_rng(0)
    n = 600
    classes = ["bronze", "gold", "silver"]
    y_idx = rng.integers(0, 3, n)
    proba = rng.dirichlet(np.ones(3), n)
    proba[np.arange(n), y_idx] += 0.6 * (y_idx != 2)  # silver (the last) is not separable
    proba /= proba.sum(axis=1, keepdims=True)
    y = np.array(classes, dtype=object)[y_idx]
    pred = np.array(classes, dtype=object)[proba.argmax(axis=1)]
    got = compute_metrics(y, pred, "classification", proba, positive="silver", classes=classes)
    macro = skm.roc_auc_score(y_idx, proba, multi_class="ovr", average="macro")
    weighted = skm.roc_auc_score(y_idx, proba, multi_class="ovr", average="weighted")
    assert got["roc_auc"] == pytest.approx(macro) and got["roc_auc_weighted"] == pytest.approx(
        weighted
    )
    assert got["roc_auc"] > 0.7  # silver against the rest alone scores ~0.3
    assert got["log_loss"] == pytest.approx(skm.log_loss(y_idx, proba))
    # through performance(): the probability column holds the vectors
    p = pd.DataFrame(
        {"request_id": [f"r{i}" for i in range(n)], "row": 0, "ts": 0, "prediction": pred}
    )
    p["probability"] = list(proba)
    f = labels([f"r{i}" for i in range(n)], list(y), 5)
    report = performance(p, f, positive="silver", classes=classes)
    assert report.metrics["roc_auc"] == pytest.approx(macro)
