"""Per-variant serving stats: recorded on the hot path, flushed as rows, merged across replicas."""

from __future__ import annotations

import numpy as np
import pytest

import mainsail
from mainsail.serving._variant_stats import VariantStats, merge_rows, prediction_bins


def test_rows_merge_across_replicas_and_rewrites_are_idempotent(ctx) -> None:  # type: ignore[no-untyped-def]
    stores: list[VariantStats] = []
    for replica in ("r1", "r2"):
        s = VariantStats("churn", ctx.store.write_serving_stats, window_s=60, replica=replica)
        for i in range(100):
            s.record("stable", "1", 200 if i % 10 else 503, float(i), np.array([i % 2]))
        s.record("canary", "2", 200, 5.0, np.array([0.25]))
        stores.append(s)
    for s in stores:
        s.flush()
        s.flush()  # the same window again: rows are totals, not increments
    rows = ctx.store.read_serving_stats("churn")
    assert len(rows) == 4
    merged = merge_rows(rows)
    stable = merged["stable"]
    assert (stable.requests, stable.ok, stable.errors) == (200, 180, 20)
    assert stable.success_rate == pytest.approx(0.9)
    assert stable.quantile_ms(0.5) == pytest.approx(50, abs=3)
    mean, var, n = stable.latency_mean_var()
    assert (
        n == 200
        and mean == pytest.approx(49.5)
        and var == pytest.approx(np.var(np.r_[np.arange(100), np.arange(100)], ddof=1))
    )
    assert stable.pred_counts == {"0": 100, "1": 100}
    assert merged["canary"].pred_kll is not None


def test_prediction_bins_for_labels_and_numbers() -> None:
    a = VariantStats("e", lambda rows: None, replica="x")
    a.record("s", "1", 200, 1.0, np.array(["yes", "no", "no"]))
    a.record("c", "2", 200, 1.0, np.array(["yes", "yes", "maybe"]))
    a.record("s", "1", 200, 1.0, np.array([0.1, 0.2, 0.3]))
    merged = merge_rows(a.rows())
    bins = prediction_bins([merged["s"], merged["c"]])
    assert bins is not None and [b.tolist() for b in bins] == [[0, 2, 1], [1, 0, 2]]
    b = VariantStats("e", lambda rows: None, replica="y")
    rng = np.random.default_rng(0)
    b.record("s", "1", 200, 1.0, rng.normal(size=2000))
    b.record("c", "2", 200, 1.0, rng.normal(size=2000))
    merged = merge_rows(b.rows())
    numeric = prediction_bins([merged["s"], merged["c"]])
    assert numeric is not None and len(numeric[0]) == 10
    assert numeric[1].sum() == pytest.approx(2000)
    assert min(numeric[1]) > 100  # the same distribution fills every decile bin


def test_shadow_comparisons() -> None:
    s = VariantStats("e", lambda rows: None, replica="z")
    s.record_shadow("shadow", "3", 4.0, np.array([1, 0, 1]), np.array([1, 1, 1]))
    s.record_shadow("shadow", "3", 9.0, None, np.array([1]), error=True)
    s.record_dropped("shadow", "3")
    m = merge_rows(s.rows())["shadow"]
    assert (m.compared, m.agree, m.errors, m.dropped, m.abs_diff) == (3, 2, 1, 1, 1.0)


def test_flush_failures_keep_the_numbers(ctx) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def flaky(rows: list[dict]) -> None:  # type: ignore[type-arg]
        calls.append(len(rows))
        if len(calls) == 1:
            raise OSError("store down")
        mainsail.get_context().store.write_serving_stats(rows)

    s = VariantStats("churn", flaky, window_s=60, replica="r")
    s.record("stable", "1", 200, 1.0)
    with pytest.raises(OSError):
        s.flush()
    s.record("stable", "1", 200, 1.0)
    s.flush()
    assert merge_rows(ctx.store.read_serving_stats("churn"))["stable"].requests == 2
