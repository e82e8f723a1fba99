"""Calibration: one practical effect size for every test, on a grid of magnitudes and sizes.

Every family of column (normal, skewed, categorical, binary) is moved by the same
*equivalent* shift, in standard deviations of a normal column (skewed: its robust sd; for
categories: the re-weighting whose chi-square divergence is that shift squared). Shifts of 0.1 sd and more are
practically relevant and must be reported; 0.05 sd and less must not; unshifted columns must
never be. ``bench/drift.py --calibration`` runs the same grid at 1M rows against Evidently.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mainsail.data import profile_frame
from mainsail.monitoring import drift
from mainsail.monitoring._tests import (
    COHEN_H_FLOOR,
    JS_FLOOR,
    KS_FLOOR,
    PRACTICAL_SHIFT_SD,
    WASSERSTEIN_FLOOR,
    _normal_shift_js,
)

CATS = np.array(list("abcde"), dtype=object)
BASE_P = np.array([0.4, 0.25, 0.15, 0.12, 0.08])
TARGET_P = np.full(5, 0.2)
IGNORED = (0.03, 0.05)
REPORTED = (0.1, 0.2)
FAMILIES = ("normal", "skewed", "categorical", "binary")
LOGNORMAL_SIGMA = 0.75


def reweighted(delta: float) -> np.ndarray:
    """BASE_P moved towards uniform until its chi-square divergence is ``delta ** 2``."""
    unit = math.sqrt(float(np.sum((TARGET_P - BASE_P) ** 2 / BASE_P)))
    return BASE_P + (delta / unit) * (TARGET_P - BASE_P)


def binary_p(delta: float, p: float = 0.3) -> float:
    """The share whose Cohen's h from ``p`` is ``delta``."""
    return math.sin(math.asin(math.sqrt(p)) + delta / 2) ** 2


def column(family: str, delta: float, n: int, rng: np.random.Generator) -> np.ndarray:
    if family == "normal":
        return rng.normal(delta, 1.0, n)
    if family == "skewed":
        # moved by delta of its robust sd (IQR / 1.349); its own sd is ~1.5x larger, so the
        # 0.1 sd moves of test_a_skewed_column_moved_by_a_tenth_of_its_sd are bigger still
        iqr = 2 * math.sinh(0.6745 * LOGNORMAL_SIGMA)  # exp(+z s) - exp(-z s)
        return rng.lognormal(0, LOGNORMAL_SIGMA, n) + delta * iqr / 1.349
    if family == "categorical":
        return CATS[rng.choice(5, n, p=reweighted(delta))]
    return rng.random(n) < binary_p(delta)


def grid(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Unshifted columns of every family (``u_*``) and each family at each magnitude."""
    rng_ref, rng_cur = np.random.default_rng(seed), np.random.default_rng(seed + 1)
    ref: dict[str, object] = {}
    cur: dict[str, object] = {}
    shift: dict[str, float] = {}
    for family in FAMILIES:
        for i in range(4):
            name = f"u_{family}{i}"
            ref[name], cur[name] = column(family, 0, n, rng_ref), column(family, 0, n, rng_cur)
            shift[name] = 0.0
        for delta in IGNORED + REPORTED:
            name = f"{family}@{delta}"
            ref[name], cur[name] = column(family, 0, n, rng_ref), column(family, delta, n, rng_cur)
            shift[name] = delta
    return pd.DataFrame(ref), pd.DataFrame(cur), shift


def test_every_floor_is_the_same_practical_shift() -> None:
    delta = PRACTICAL_SHIFT_SD
    assert WASSERSTEIN_FLOOR == COHEN_H_FLOOR == delta
    assert pytest.approx(0.3989 * delta, rel=0.01) == KS_FLOOR  # 2 Phi(delta / 2) - 1
    assert pytest.approx(delta / math.sqrt(8 * math.log(2)), rel=0.01) == JS_FLOOR
    # the categorical distances of an equivalent re-weighting and binary move land on it too
    from mainsail.monitoring._tests import jensenshannon

    assert jensenshannon(BASE_P, reweighted(delta)) == pytest.approx(JS_FLOOR, rel=0.1)
    q = binary_p(delta)
    assert jensenshannon(np.array([0.7, 0.3]), np.array([1 - q, q])) == pytest.approx(
        JS_FLOOR, rel=0.1
    )
    assert _normal_shift_js(2 * delta) == pytest.approx(2 * JS_FLOOR, rel=0.02)


@pytest.mark.parametrize("n", [10_000, 100_000])
def test_grid_recall_and_no_false_alarms(n: int) -> None:
    ref, cur, shift = grid(n, seed=n)
    report = drift(ref, cur)
    drifted = set(report.drifted_columns)
    rows = []
    for family in FAMILIES:
        for delta in (0.0, *IGNORED, *REPORTED):
            names = [c for c, d in shift.items() if d == delta and family in c]
            hits = [c for c in names if c in drifted]
            rows.append((family, delta, len(hits), len(names)))
    table = "\n".join(f"{f:<12}{d:>6}: {h}/{t}" for f, d, h, t in rows)
    false_alarms = {c for c in drifted if shift[c] == 0}
    # At 10k rows a skewed column's quantiles are noisy (its robust distance has an sd of
    # ~0.02): a 0.1 sd move is found 3 times in 4 there, always at 100k.
    must = {c for c, d in shift.items() if d in REPORTED}
    if n < 100_000:
        must.discard("skewed@0.1")
    missed = {c for c in must if c not in drifted}
    trivia = {c for c, d in shift.items() if 0 < d < 0.075 and c in drifted}
    assert not false_alarms, f"false alarms at n={n}:\n{table}"
    assert not missed, f"missed at n={n}:\n{table}"
    assert not trivia, f"flagged sub-threshold shifts at n={n}:\n{table}"
    # Mergeable sketches (KLL, rank error ~0.5 %) blur the band between 0.05 and 0.1 sd,
    # and nothing else: no false alarm, no tiny shift, every larger one.
    ref_p = profile_frame(ref)
    sketched = set(drift(ref_p, profile_frame(cur, reference=ref_p)).drifted_columns)
    assert not {c for c in sketched if shift[c] < 0.05}, sorted(sketched)
    assert {c for c, d in shift.items() if d >= 0.2} <= sketched, sorted(sketched)
    assert {c for c in sketched ^ drifted if 0.05 <= shift[c] <= 0.1} == sketched ^ drifted


def test_a_skewed_column_moved_by_a_tenth_of_its_sd() -> None:
    rng = np.random.default_rng(5)
    n = 20_000
    ref = pd.DataFrame({"x": rng.lognormal(0, 1.0, n)})
    sd = float(ref["x"].std())
    cur = pd.DataFrame({"x": rng.lognormal(0, 1.0, n) + 0.1 * sd})
    col = drift(ref, cur)["x"]
    assert col.drifted, col.describe()


@pytest.mark.parametrize("n", [200, 1_000, 10_000, 100_000])
@pytest.mark.parametrize("share", [0.01, 0.03])
def test_a_new_category_in_one_percent_of_rows_is_always_flagged(n: int, share: float) -> None:
    rng = np.random.default_rng(n)
    ref = pd.DataFrame({"plan": CATS[rng.choice(5, n, p=BASE_P)]})
    values = CATS[rng.choice(5, n, p=BASE_P)].copy()
    values[: math.ceil(share * n)] = "enterprise"
    cur = pd.DataFrame({"plan": values})
    col = drift(ref, cur)["plan"]
    assert col.drifted and col.new_categories == ["enterprise"], col.describe()
    assert "new categories ['enterprise']" in col.describe()
    ref_p = profile_frame(ref)
    assert drift(ref_p, profile_frame(cur, reference=ref_p))["plan"].new_categories == [
        "enterprise"
    ]


def test_a_rare_new_category_is_left_to_the_test() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    ref = pd.DataFrame({"plan": CATS[rng.choice(5, n, p=BASE_P)]})
    values = CATS[rng.choice(5, n, p=BASE_P)].copy()
    values[:4] = "enterprise"  # 0.2 %
    col = drift(ref, pd.DataFrame({"plan": values}))["plan"]
    assert col.new_categories == [] and not col.drifted, col.describe()
