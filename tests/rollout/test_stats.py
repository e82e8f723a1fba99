"""Property tests for the A/B and analysis statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mainsail.rollout._stats import (
    js_divergence,
    min_sample_size_means,
    min_sample_size_proportions,
    two_proportion_ztest,
    welch_ttest,
)

counts = st.integers(min_value=1, max_value=100_000)


@st.composite
def two_samples(draw: st.DrawFn) -> tuple[int, int, int, int]:
    n_a, n_b = draw(counts), draw(counts)
    return draw(st.integers(0, n_a)), n_a, draw(st.integers(0, n_b)), n_b


@settings(deadline=None)
@given(two_samples())
def test_ztest_is_well_formed_and_antisymmetric(s: tuple[int, int, int, int]) -> None:
    x_a, n_a, x_b, n_b = s
    r = two_proportion_ztest(x_a, n_a, x_b, n_b)
    assert 0.0 <= r.p_value <= 1.0
    assert r.ci_low <= r.difference <= r.ci_high
    assert math.isclose(r.difference, x_b / n_b - x_a / n_a, abs_tol=1e-12)
    back = two_proportion_ztest(x_b, n_b, x_a, n_a)
    assert math.isclose(back.difference, -r.difference, abs_tol=1e-12)
    assert math.isclose(back.p_value, r.p_value, rel_tol=1e-9, abs_tol=1e-12)


@settings(deadline=None)
@given(counts, st.floats(0.01, 0.99))
def test_ztest_of_identical_rates_is_not_significant(n: int, p: float) -> None:
    x = int(n * p)
    assert two_proportion_ztest(x, n, x, n).p_value == pytest.approx(1.0)


def test_ztest_matches_a_known_value() -> None:
    # statsmodels.stats.proportion.proportions_ztest([130, 100], [1000, 1000]) -> p = 0.03548
    r = two_proportion_ztest(100, 1000, 130, 1000)
    assert r.p_value == pytest.approx(0.035488, abs=1e-5)


means = st.floats(-1e3, 1e3, allow_nan=False)
variances = st.floats(1e-3, 1e3, allow_nan=False)
sizes = st.integers(2, 10_000)


@settings(deadline=None)
@given(means, variances, sizes, means, variances, sizes)
def test_welch_is_well_formed(ma: float, va: float, na: int, mb: float, vb: float, nb: int) -> None:
    r = welch_ttest(ma, va, na, mb, vb, nb)
    assert 0.0 <= r.p_value <= 1.0
    assert r.ci_low <= r.difference <= r.ci_high
    back = welch_ttest(mb, vb, nb, ma, va, na)
    assert math.isclose(back.p_value, r.p_value, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_welch_matches_scipy_on_raw_samples(seed: int) -> None:
    from scipy import stats

    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, 1, size=30), rng.normal(0.3, 2, size=45)
    ours = welch_ttest(a.mean(), a.var(ddof=1), len(a), b.mean(), b.var(ddof=1), len(b))
    theirs = stats.ttest_ind(b, a, equal_var=False)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-7)


@settings(deadline=None)
@given(st.floats(0.01, 0.9), st.floats(0.005, 0.05), st.floats(0.005, 0.05))
def test_smaller_effects_need_more_samples(p: float, e1: float, e2: float) -> None:
    small, large = sorted((e1, e2))
    assert min_sample_size_proportions(p, small) >= min_sample_size_proportions(p, large)
    assert min_sample_size_means(1.0, small) >= min_sample_size_means(1.0, large)


def test_sample_size_matches_the_textbook() -> None:
    assert min_sample_size_proportions(0.10, 0.02) == 3841
    assert min_sample_size_means(1.0, 0.5) == 63


def test_sample_size_at_a_bound_looks_the_other_way() -> None:
    # an arm at 100 % success has no room above it: this divided by zero before
    assert min_sample_size_proportions(1.0, 0.1) == min_sample_size_proportions(0.9, 0.1) == 74
    assert min_sample_size_proportions(0.0, -0.1) == min_sample_size_proportions(0.1, -0.1)


vectors = st.lists(st.integers(0, 1000), min_size=1, max_size=20)


@settings(deadline=None)
@given(st.data())
def test_js_divergence_bounds_and_symmetry(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 20))
    vec = st.lists(st.integers(0, 1000), min_size=n, max_size=n).filter(lambda v: sum(v) > 0)
    p, q = np.array(data.draw(vec)), np.array(data.draw(vec))
    d = js_divergence(p, q)
    assert 0.0 <= d <= 1.0
    assert d == pytest.approx(js_divergence(q, p), abs=1e-12)
    assert js_divergence(p, p * 3) == pytest.approx(0.0, abs=1e-12)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one trial"):
        two_proportion_ztest(0, 0, 1, 2)
    with pytest.raises(ValueError, match="successes"):
        two_proportion_ztest(5, 3, 1, 2)
    with pytest.raises(ValueError, match="two or more"):
        welch_ttest(0, 1, 1, 0, 1, 5)
    with pytest.raises(ValueError, match="shape"):
        js_divergence(np.array([1, 2]), np.array([1]))
    with pytest.raises(ValueError, match="non-zero"):
        min_sample_size_proportions(0.1, 0.0)
