"""Analysis checks over merged per-variant stats and over the prediction/feedback logs."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from mainsail.rollout._analysis import feedback_accuracy, run_checks, summarize
from mainsail.rollout._types import RolloutSpec
from mainsail.serving._predlog import SegmentWriter
from mainsail.serving._variant_stats import VariantStats, merge_rows


def _stats(**variants: tuple[int, float, np.ndarray]) -> dict:  # type: ignore[type-arg]
    s = VariantStats("e", lambda rows: None, window_s=60, replica="r")
    for name, (n, ms, preds) in variants.items():
        for i in range(n):
            s.record(name, "1", 200, ms, preds[i : i + 1])
    return merge_rows(s.rows())


def test_divergence_and_latency_ratio() -> None:
    rng = np.random.default_rng(0)
    same = _stats(
        stable=(200, 10.0, rng.integers(0, 2, 200)), canary=(200, 12.0, rng.integers(0, 2, 200))
    )
    spec = RolloutSpec(
        min_requests=50, max_prediction_divergence=0.05, max_p99_ratio=1.5, min_success_rate=None
    )
    checks = {c.name: c for c in run_checks(same, "canary", "stable", spec)}
    assert checks["prediction_divergence"].status == "pass"
    assert checks["p99_latency_ratio"].status == "pass"
    assert checks["p99_latency_ratio"].value == pytest.approx(1.2, rel=0.05)
    skewed = _stats(
        stable=(200, 10.0, rng.integers(0, 2, 200)), canary=(200, 30.0, np.ones(200, int))
    )
    checks = {c.name: c for c in run_checks(skewed, "canary", "stable", spec)}
    assert (
        checks["prediction_divergence"].status == "fail"
        and checks["prediction_divergence"].value > 0.2
    )
    assert checks["p99_latency_ratio"].status == "fail"
    assert summarize(list(checks.values())) == "fail"
    few = _stats(stable=(200, 10.0, np.zeros(200)), canary=(10, 10.0, np.zeros(10)))
    checks = {c.name: c for c in run_checks(few, "canary", "stable", spec)}
    assert {c.status for c in checks.values()} == {"inconclusive"}
    assert checks["p99_latency_ratio"].samples == 10


def test_accuracy_from_feedback(ctx) -> None:  # type: ignore[no-untyped-def]
    root = ctx.settings.resolved_artifact_root()
    preds = SegmentWriter(root, "predictions", "churn")
    feedback = SegmentWriter(root, "feedback", "churn")
    now = int(time.time() * 1000)
    n = 60
    ids = np.array([f"r{i}" for i in range(n)], dtype=object)
    variant = np.array(["stable" if i % 2 else "canary" for i in range(n)], dtype=object)
    truth = np.arange(n) % 3 == 0
    predicted = np.where(variant == "stable", truth, np.zeros(n, bool)).astype(int)
    preds.append(pd.DataFrame({"x": np.zeros(n)}), predicted, request_id=ids, row=np.zeros(n, int),
                 ts=np.full(n, now), variant=variant)  # fmt: skip
    feedback.append(pd.DataFrame(index=range(n)), None, request_id=ids,
                    label=np.array([str(int(t)) for t in truth], dtype=object),
                    ts=np.full(n, now))  # fmt: skip
    preds.close()
    feedback.close()
    acc = feedback_accuracy(ctx, "churn", now - 1000, ["stable", "canary"])
    assert acc["stable"] == (30, 30)
    assert acc["canary"][1] == 30 and acc["canary"][0] == sum(
        1 for i in range(n) if i % 2 == 0 and not truth[i]
    )
    stats = _stats(stable=(30, 5.0, np.zeros(30)), canary=(30, 5.0, np.zeros(30)))
    spec = RolloutSpec(min_accuracy_delta=-0.05, min_feedback=20, min_success_rate=None)
    (check,) = run_checks(stats, "canary", "stable", spec, acc)
    assert check.name == "accuracy_delta" and check.status == "fail" and check.value < -0.2
