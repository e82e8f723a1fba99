"""The statistics behave on known cases: weighted metrics, bootstrap, McNemar, decisions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from mainsail.checks._metrics import METRICS, Scored, weighted_auc
from mainsail.checks._stats import Comparison, decide, mcnemar, paired_bootstrap

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def binary_case(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(8, 60))
    seed = draw(st.integers(0, 2**31 - 1))
    r = np.random.default_rng(seed)
    y = r.integers(0, 2, n)
    y[0], y[1] = 0, 1  # both classes present
    p1 = np.round(r.random(n), draw(st.integers(1, 3)))  # rounding makes ties
    w = r.integers(0, 4, n).astype(float)
    w[0] = w[1] = 1.0
    return y, p1, w


@settings(max_examples=12, deadline=None)
@given(binary_case())
def test_weighted_metrics_equal_sklearn_with_sample_weight(case) -> None:  # type: ignore[no-untyped-def]
    y, p1, w = case
    proba = np.c_[1 - p1, p1]
    pred = (p1 >= 0.5).astype(int)
    s = Scored(y, pred, proba, [0, 1])
    W = w[None, :]
    expect = {
        "accuracy": skm.accuracy_score(y, pred, sample_weight=w),
        "roc_auc": skm.roc_auc_score(y, p1, sample_weight=w),
        "brier": skm.brier_score_loss(y, p1, sample_weight=w),
        "f1": skm.f1_score(y, pred, sample_weight=w, zero_division=0),
        "precision": skm.precision_score(y, pred, sample_weight=w, zero_division=0),
        "recall": skm.recall_score(y, pred, sample_weight=w, zero_division=0),
        "log_loss": skm.log_loss(y, np.clip(proba, 1e-15, 1), sample_weight=w, labels=[0, 1]),
    }
    for name, want in expect.items():
        got = METRICS[name].replicate(s, W)[0]
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9), name
        # unit weights give the point value
        assert METRICS[name].replicate(s, np.ones((1, len(y))))[0] == pytest.approx(
            METRICS[name].value(s), rel=1e-9, abs=1e-9
        ), name


@settings(max_examples=12, deadline=None)
@given(st.integers(12, 80), st.integers(0, 2**31 - 1))
def test_multiclass_roc_auc_is_one_vs_rest_macro_and_weighted(n: int, seed: int) -> None:
    r = np.random.default_rng(seed)
    y = r.integers(0, 3, n)
    y[:3] = [0, 1, 2]  # every class present
    proba = r.dirichlet(np.ones(3), n)
    s = Scored(y, proba.argmax(axis=1), proba, [0, 1, 2])
    w = r.integers(1, 4, n).astype(float)
    for name, average in (("roc_auc", "macro"), ("roc_auc_weighted", "weighted")):
        want = skm.roc_auc_score(y, proba, multi_class="ovr", average=average)
        assert METRICS[name].value(s) == pytest.approx(want, abs=1e-12), name
        with_w = skm.roc_auc_score(y, proba, multi_class="ovr", average=average, sample_weight=w)
        assert METRICS[name].replicate(s, w[None, :])[0] == pytest.approx(with_w, abs=1e-9)


@SETTINGS
@given(st.integers(5, 80), st.integers(0, 2**31 - 1))
def test_weighted_regression_metrics_equal_sklearn(n: int, seed: int) -> None:
    r = np.random.default_rng(seed)
    y, pred = r.normal(size=n), r.normal(size=n)
    w = r.integers(1, 4, n).astype(float)
    s = Scored(y, pred, None, None)
    W = w[None, :]
    assert METRICS["mse"].replicate(s, W)[0] == pytest.approx(
        skm.mean_squared_error(y, pred, sample_weight=w)
    )
    assert METRICS["mae"].replicate(s, W)[0] == pytest.approx(
        skm.mean_absolute_error(y, pred, sample_weight=w)
    )
    assert METRICS["r2"].replicate(s, W)[0] == pytest.approx(
        skm.r2_score(y, pred, sample_weight=w), rel=1e-7, abs=1e-9
    )


def test_auc_rows_are_independent_replicates() -> None:
    r = np.random.default_rng(0)
    y, score = r.integers(0, 2, 200), r.random(200)
    W = r.multinomial(200, np.full(200, 1 / 200), size=5).astype(float)
    many = weighted_auc(score, y == 1, W)
    one_by_one = [skm.roc_auc_score(y, score, sample_weight=w) for w in W]
    np.testing.assert_allclose(many, one_by_one)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.0, 0.4))
def test_bootstrap_of_a_model_against_itself_is_exactly_zero(seed: int, flip: float) -> None:
    r = np.random.default_rng(seed)
    y = r.integers(0, 2, 120)
    pred = np.where(r.random(120) < flip, 1 - y, y)
    s = Scored(y, pred, None, [0, 1])
    c = paired_bootstrap(METRICS["accuracy"], s, s, replicates=200, seed=seed)
    assert c.delta == 0 and c.low == 0 and c.high == 0


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_bootstrap_is_antisymmetric_and_brackets_the_estimate(seed: int) -> None:
    r = np.random.default_rng(seed)
    n = 300
    y = r.integers(0, 2, n)
    a = np.where(r.random(n) < 0.15, 1 - y, y)
    b = np.where(r.random(n) < 0.3, 1 - y, y)
    sa, sb = Scored(y, a, None, [0, 1]), Scored(y, b, None, [0, 1])
    ab = paired_bootstrap(METRICS["accuracy"], sa, sb, replicates=300, seed=1)
    ba = paired_bootstrap(METRICS["accuracy"], sb, sa, replicates=300, seed=1)
    assert ab.delta == pytest.approx(-ba.delta)
    assert ab.low == pytest.approx(-ba.high) and ab.high == pytest.approx(-ba.low)
    assert ab.low <= ab.delta <= ab.high


def test_bootstrap_direction_for_lower_is_better_metrics() -> None:
    r = np.random.default_rng(3)
    y = r.normal(size=400)
    good = Scored(y, y + r.normal(0, 0.1, 400), None, None)
    bad = Scored(y, y + r.normal(0, 1.0, 400), None, None)
    c = paired_bootstrap(METRICS["rmse"], good, bad, replicates=300)
    assert c.delta > 0 and c.low > 0  # positive = the candidate is better, even for rmse


def test_bootstrap_coverage_is_near_nominal() -> None:
    """Two equally good models: a 90% CI contains 0 in about 90% of fresh samples."""
    hits = 0
    trials = 40
    for t in range(trials):
        r = np.random.default_rng(100 + t)
        y = r.integers(0, 2, 300)
        a = np.where(r.random(300) < 0.2, 1 - y, y)
        b = np.where(r.random(300) < 0.2, 1 - y, y)
        c = paired_bootstrap(
            METRICS["accuracy"],
            Scored(y, a, None, [0, 1]),
            Scored(y, b, None, [0, 1]),
            replicates=300,
            confidence=0.9,
            seed=t,
        )
        hits += c.low <= 0 <= c.high
    assert 0.75 <= hits / trials <= 1.0


@SETTINGS
@given(st.integers(0, 30), st.integers(0, 30), st.integers(0, 40))
def test_mcnemar_matches_scipy_on_discordant_pairs(b: int, c: int, same: int) -> None:
    from scipy import stats

    # b rows only the candidate gets right, c rows only the baseline, `same` both right
    y = np.zeros(b + c + same + 1, dtype=int)
    cand = np.ones_like(y)
    base = np.ones_like(y)
    cand[:b] = 0
    base[b : b + c] = 0
    cand[b + c : b + c + same] = 0
    base[b + c : b + c + same] = 0
    res = mcnemar(Scored(y, cand, None, [0, 1]), Scored(y, base, None, [0, 1]))
    assert res.discordant == (b, c)
    k = b + c
    if k == 0:
        assert res.p_value == 1.0
    else:
        # the two-sided mid-p: the exact test's p-value less the probability of what was seen
        exact = stats.binomtest(b, k, 0.5).pvalue
        tail = min(stats.binom.cdf(b, k, 0.5), stats.binom.sf(b - 1, k, 0.5))
        mid = min(1.0, 2 * (tail - 0.5 * stats.binom.pmf(b, k, 0.5)))
        assert res.p_value == pytest.approx(mid)
        assert res.p_value <= exact + 1e-12
    assert res.delta == pytest.approx((b - c) / len(y))
    assert res.low <= res.delta <= res.high
    if b == c:
        assert res.p_value == pytest.approx(1.0)
    # the interval inverts the test: it excludes 0 exactly when the test rejects
    assert (res.low > 0 or res.high < 0) == (res.p_value < 0.05)


def test_mcnemar_interval_agrees_with_the_test_on_few_discordant_pairs() -> None:
    """4 of 100 rows only the candidate gets right: not significant (mid-p 0.0625), so not
    a shown gain; the Wald interval said it was (low +0.0016)."""
    from mainsail.checks._stats import decide

    y = np.zeros(100, dtype=int)
    cand, base = y.copy(), y.copy()
    base[:4] = 1
    res = mcnemar(Scored(y, cand, None, [0, 1]), Scored(y, base, None, [0, 1]))
    assert res.discordant == (4, 0) and res.p_value == pytest.approx(0.0625)
    assert res.low < 0 < res.high
    assert decide(res, margin=0.001).status == "fail"


@SETTINGS
@given(st.floats(-0.2, 0.2), st.floats(0.0, 0.1), st.floats(-0.1, 0.1), st.floats(-0.1, 0.1))
def test_decide_is_monotone_in_the_margin(delta: float, half: float, m1: float, m2: float) -> None:
    comp = Comparison(
        "bootstrap", "roc_auc", 0.8 + delta, 0.8, delta, delta - half, delta + half, 0.95, 500
    )
    lo, hi = sorted((m1, m2))
    # passing a stricter margin implies passing a looser one
    if decide(comp, hi).status == "pass":
        assert decide(comp, lo).status == "pass"
    assert decide(comp, lo).status == ("pass" if comp.low >= lo else "fail")


def test_decide_minimum_effects_and_undefined() -> None:
    comp = Comparison("bootstrap", "roc_auc", 0.81, 0.80, 0.01, 0.005, 0.015, 0.95, 500)
    assert decide(comp, 0.0).status == "pass"
    assert decide(comp, 0.0, min_abs_change=0.02).status == "fail"
    assert "relative" in decide(comp, 0.0, min_rel_change=0.05).reason
    nan = Comparison("bootstrap", "roc_auc", 0.8, 0.8, 0.0, float("nan"), float("nan"), 0.95, 5)
    assert decide(nan, 0.0).status == "inconclusive"
