"""Drift statistics stay sighted with extreme values, heavy tails, constants and NaN/inf.

A grid from min to max and the standard deviation as the unit both collapse when one row
holds 1e6: the numeric tests bin at the reference's quantiles and measure in a robust scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mainsail.data import profile_frame
from mainsail.monitoring import drift
from mainsail.monitoring._columns import RawColumn
from mainsail.monitoring._tests import robust_scale

NUMERIC_TESTS = ("ks", "wasserstein", "jensenshannon", "psi")


def _frames(a: np.ndarray, b: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.DataFrame({"x": a}), pd.DataFrame({"x": b})


@pytest.mark.parametrize("stattest", [None, *NUMERIC_TESTS])
def test_one_extreme_value_per_side_does_not_hide_a_shift(stattest: str | None) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 30_000), rng.normal(1, 1, 30_000)
    a[0] = b[0] = 1e6
    ref, cur = _frames(a, b)
    col = drift(ref, cur, stattest=stattest)["x"]
    assert col.drifted, col.describe()
    if col.test == "wasserstein":
        assert col.statistic == pytest.approx(1.0, abs=0.05)  # the shift, in sd
    # the same from mergeable sketches (KLL): their min/max carry the outlier too
    ref_p = profile_frame(ref)
    sketch = drift(ref_p, profile_frame(cur, reference=ref_p), stattest=stattest)["x"]
    assert sketch.drifted, sketch.describe()


def test_robust_scale_ignores_one_extreme_value() -> None:
    x = np.random.default_rng(1).normal(5, 2, 10_000)
    clean = robust_scale(RawColumn(x, "numeric"))
    x[3] = 1e12
    assert robust_scale(RawColumn(x, "numeric")) == pytest.approx(clean, rel=1e-3)
    assert clean == pytest.approx(2.0, rel=0.05)  # the sd, for normal data
    # a column whose quartiles coincide falls back to wider quantile ranges
    zeros = np.zeros(1000)
    zeros[:100] = np.arange(1, 101)
    assert robust_scale(RawColumn(zeros, "numeric")) > 0


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(300, 5_000),
    seed=st.integers(0, 10_000),
    magnitude=st.sampled_from([1e3, 1e6, 1e12, 1e300, -1e300]),
    where=st.sampled_from(["reference", "current", "both"]),
    count=st.integers(1, 2),
)
def test_a_few_extreme_values_change_no_verdict(
    n: int, seed: int, magnitude: float, where: str, count: int
) -> None:
    """Same data with and without up to two wild values: the same verdicts."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1, n)
    same, moved = rng.normal(0, 1, n), rng.normal(1.5, 1, n)
    for cur, expected in ((same, None), (moved, True)):
        clean = drift(*_frames(a, cur), stattest="wasserstein")["x"]
        a2, c2 = a.copy(), cur.copy()
        if where in ("reference", "both"):
            a2[:count] = magnitude
        if where in ("current", "both"):
            c2[:count] = magnitude
        for stattest in ("wasserstein", "ks"):
            base = drift(*_frames(a, cur), stattest=stattest)["x"]
            wild = drift(*_frames(a2, c2), stattest=stattest)["x"]
            assert np.isfinite(wild.statistic) and wild.statistic >= 0
            if expected is not None:
                assert wild.drifted is expected, wild.describe()
            if stattest == "wasserstein":
                # a handful of rows moves the trimmed distance by a handful of rows' worth
                assert wild.statistic == pytest.approx(clean.statistic, abs=0.05 + 10 / n)
            else:
                assert wild.statistic == pytest.approx(base.statistic, abs=2 * count / n)


@pytest.mark.parametrize(
    "sample",
    [
        lambda rng, n: rng.standard_t(1, n),  # Cauchy: no mean, no variance
        lambda rng, n: rng.lognormal(0, 2, n),
        lambda rng, n: rng.pareto(1.1, n),
    ],
    ids=["cauchy", "lognormal", "pareto"],
)
def test_heavy_tails_no_false_alarm_and_shifts_found(sample) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    n = 20_000
    a, b = sample(rng, n), sample(rng, n)
    same = drift(*_frames(a, b))["x"]
    # heavy tails make the distance noisy (~0.1 here): its p-value, not its size, says so
    assert not same.drifted and same.p_value is not None and same.p_value > 0.05, same.describe()
    scale = robust_scale(RawColumn(a, "numeric"))
    moved = drift(*_frames(a, b + 0.3 * scale))["x"]
    assert moved.drifted and moved.statistic == pytest.approx(0.3, abs=0.12), moved.describe()


def test_constant_columns() -> None:
    n = 5000
    const = np.full(n, 7.0)
    for stattest in (None, *NUMERIC_TESTS):
        same = drift(*_frames(const, const), stattest=stattest)["x"]
        assert not same.drifted and same.statistic == pytest.approx(0.0, abs=1e-9), same
        moved = drift(*_frames(const, np.full(n, 6.0)), stattest=stattest)["x"]
        assert moved.drifted, (stattest, moved.describe())
        up = drift(*_frames(const, np.full(n, 8.0)), stattest=stattest)["x"]
        assert up.drifted, (stattest, up.describe())
    # one odd value in a constant column is not drift
    odd = const.copy()
    odd[0] = 1e9
    assert not drift(*_frames(const, odd))["x"].drifted
    # a column that is mostly one value: its rare values moving is
    zeros = np.zeros(n)
    zeros[: n // 50] = 1.0  # 2 % ones
    more = np.zeros(n)
    more[: n // 5] = 1.0  # 20 % ones
    assert drift(*_frames(zeros, more))["x"].drifted


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(200, 3000),
    seed=st.integers(0, 10_000),
    bad_share=st.floats(0, 0.3),
    shift=st.sampled_from([0.0, 2.0]),
)
def test_nan_and_inf_are_left_out(n: int, seed: int, bad_share: float, shift: float) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, 1, n), rng.normal(shift, 1, n)
    bad = np.array([np.nan, np.inf, -np.inf])
    a2, b2 = a.copy(), b.copy()
    for arr in (a2, b2):
        idx = rng.random(n) < bad_share
        arr[idx] = rng.choice(bad, int(idx.sum()))
    for stattest in (None, *NUMERIC_TESTS):
        col = drift(*_frames(a2, b2), stattest=stattest)["x"]
        assert np.isfinite(col.statistic) and np.isfinite(col.effect_size)
        assert col.p_value is None or 0 <= col.p_value <= 1
        finite = drift(*_frames(a[np.isfinite(a2)], b[np.isfinite(b2)]), stattest=stattest)["x"]
        assert col.statistic == pytest.approx(finite.statistic)
        if shift:
            assert col.drifted, col.describe()


@settings(max_examples=60, deadline=None)
@given(
    x=st.floats(0, 500),
    shape=st.floats(0.05, 300),
    scale=st.floats(0.01, 10),
    ps=st.lists(st.floats(0, 1), min_size=1, max_size=40),
)
def test_scipy_free_gamma_tail_and_bh_match_scipy(
    x: float, shape: float, scale: float, ps: list[float]
) -> None:
    from scipy import stats

    from mainsail.monitoring._drift import benjamini_hochberg
    from mainsail.monitoring._tests import gamma_sf

    assert gamma_sf(x, shape, scale) == pytest.approx(
        stats.gamma.sf(x, shape, scale=scale), rel=1e-7, abs=1e-12
    )
    arr = np.array(ps)
    assert benjamini_hochberg(arr) == pytest.approx(
        stats.false_discovery_control(arr, method="bh"), abs=1e-12
    )
