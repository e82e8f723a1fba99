"""Planted-drift data sets: recall of real shifts, false alarms on unshifted columns."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mainsail
from mainsail.core import InvalidValueError
from mainsail.data import profile_frame
from mainsail.monitoring import DriftScore, available_tests, drift, register_test

CATS = list("abcde")
BASE_P = [0.4, 0.25, 0.15, 0.12, 0.08]


def planted(n: int, seed: int, shifts: dict[str, float]) -> pd.DataFrame:
    """8 numeric + 4 categorical columns; ``shifts`` moves chosen ones by a magnitude."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(8):
        name = f"num{i}"
        data[name] = rng.normal(shifts.get(name, 0.0), 1.0, n)
    for i in range(4):
        name = f"cat{i}"
        m = shifts.get(name, 0.0)
        p = np.array(BASE_P) * (1 - m) + np.full(5, 0.2) * m
        data[name] = rng.choice(CATS, n, p=p / p.sum())
    data["flag"] = rng.random(n) < 0.3 + shifts.get("flag", 0.0)
    return pd.DataFrame(data)


SHIFTED = {"num0": 0.5, "num1": 0.3, "num2": 0.2, "cat0": 0.8, "cat1": 0.5, "flag": 0.15}


@pytest.mark.parametrize("n", [400, 5_000, 200_000])
def test_recall_and_false_alarms(n: int) -> None:
    report = drift(planted(n, 0, {}), planted(n, 1, SHIFTED))
    drifted = set(report.drifted_columns)
    unshifted = {c.column for c in report.columns} - set(SHIFTED)
    assert not drifted & unshifted, f"false alarms: {drifted & unshifted}"
    strong = {"num0", "cat0"} if n < 1000 else set(SHIFTED)
    assert strong <= drifted, f"missed: {strong - drifted}"
    for c in report.columns:
        assert c.n_reference == n and c.n_current == n
        assert c.effect_size >= 0
        assert c.p_value is not None and 0 <= c.p_value <= 1  # every default test has one


def test_false_alarm_rate_on_unshifted_data() -> None:
    alarms = 0
    trials = 0
    for seed in range(10):
        report = drift(planted(600, seed, {}), planted(600, seed + 100, {}))
        alarms += len(report.drifted_columns)
        trials += len(report.columns)
    assert alarms / trials <= 0.02


def test_huge_samples_do_not_flag_trivial_shifts() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 300_000)})
    cur = pd.DataFrame({"x": rng.normal(0.01, 1, 300_000)})
    ks = drift(ref, cur, stattest="ks")["x"]
    assert ks.p_value is not None and ks.p_value < 0.05  # significant...
    assert not ks.drifted  # ...but below the effect-size floor
    assert not drift(ref, cur)["x"].drifted


@pytest.mark.parametrize("n", [800, 50_000])
def test_sketch_and_raw_verdicts_agree(n: int) -> None:
    ref, cur = planted(n, 0, {}), planted(n, 1, SHIFTED)
    raw = drift(ref, cur)
    ref_p = profile_frame(ref)
    sketch = drift(ref_p, profile_frame(cur, reference=ref_p))
    mixed = drift(ref_p, cur)
    assert raw.drifted_columns == sketch.drifted_columns == mixed.drifted_columns
    for a, b in zip(raw.columns, sketch.columns, strict=True):
        assert a.test == b.test
        assert b.statistic == pytest.approx(a.statistic, abs=0.05)


def test_sketches_merged_across_replicas_match_one_profile() -> None:
    ref = planted(20_000, 0, {})
    cur = planted(20_000, 1, SHIFTED)
    ref_p = profile_frame(ref)
    halves = [
        profile_frame(cur.iloc[:7000], reference=ref_p),
        profile_frame(cur.iloc[7000:], reference=ref_p),
    ]
    merged = halves[0].merge(halves[1])
    assert drift(ref_p, merged).drifted_columns == drift(ref, cur).drifted_columns


def test_explicit_tests_prediction_drift_and_dataset_share() -> None:
    ref, cur = planted(3000, 0, {}), planted(3000, 1, SHIFTED)
    ref["pred"] = ref["num0"] > 0
    cur["pred"] = cur["num0"] > 0
    report = drift(
        ref,
        cur,
        tests={"num1": "psi", "cat0": "chisquare"},
        prediction_column="pred",
        max_drift_share=0.3,
    )
    assert report["num1"].test == "psi" and report["cat0"].test == "chisquare"
    assert report.prediction is not None and report.prediction.drifted
    assert "pred" not in [c.column for c in report.columns]
    assert report.share_drifted == pytest.approx(len(report.drifted_columns) / 13)
    assert report.dataset_drift
    assert "Dataset drift: YES" in report.summary()
    assert len(report.to_frame()) == 14


def test_bad_inputs() -> None:
    ref = planted(100, 0, {})
    with pytest.raises(InvalidValueError, match="Valid tests are"):
        drift(ref, ref, stattest="magic")
    with pytest.raises(InvalidValueError, match="does not apply to categorical"):
        drift(ref, ref, tests={"cat0": "ks"})
    with pytest.raises(InvalidValueError, match="Reference columns are"):
        drift(ref, ref, columns=["nope"])
    with pytest.raises(InvalidValueError, match="max_drift_share must be in"):
        drift(ref, ref, max_drift_share=0)
    report = drift(ref, ref.drop(columns="num3"))
    assert report.missing_columns == ["num3"]


def test_custom_test_plugs_in() -> None:
    @register_test
    class MeanShift:
        name: ClassVar[str] = "mean_shift"
        kinds: ClassVar[tuple[str, ...]] = ("numeric",)
        threshold: ClassVar[float] = 0.25
        uses_p_value: ClassVar[bool] = False

        def score(self, reference, current) -> DriftScore:  # type: ignore[no-untyped-def]
            d = abs(float(np.mean(current.raw())) - float(np.mean(reference.raw())))
            return DriftScore(d, None, d)

    assert "mean_shift" in available_tests()
    report = drift(
        planted(500, 0, {}),
        planted(500, 1, SHIFTED),
        columns=["num0", "num5"],
        stattest="mean_shift",
    )
    assert report.drifted_columns == ["num0"]


def test_sdk_entry_point() -> None:
    ref = planted(500, 0, {})
    assert mainsail.drift(ref, ref).dataset_drift is False


@settings(max_examples=25, deadline=None)
@given(shift=st.floats(0, 3), n=st.integers(30, 2000), seed=st.integers(0, 1000))
def test_statistics_are_well_formed(shift: float, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"x": rng.normal(0, 1, n), "c": rng.choice(CATS, n)})
    cur = pd.DataFrame({"x": rng.normal(shift, 1, n), "c": rng.choice(CATS, n)})
    for test in ("ks", "wasserstein", "psi", "jensenshannon"):
        c = drift(ref, cur, columns=["x"], stattest=test)["x"]
        assert np.isfinite(c.statistic) and c.statistic >= 0
        if c.p_value is not None:
            assert 0 <= c.p_value <= 1
    js = drift(ref, cur, columns=["c"], stattest="jensenshannon")["c"]
    assert 0 <= js.statistic <= 1


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0, 10), min_size=2, max_size=12),
    st.lists(st.floats(0, 10), min_size=2, max_size=12),
)
def test_jensenshannon_matches_scipy(a: list[float], b: list[float]) -> None:
    from scipy.spatial.distance import jensenshannon as scipy_js

    from mainsail.monitoring._tests import jensenshannon

    k = min(len(a), len(b))
    p, q = np.array(a[:k]), np.array(b[:k])
    if p.sum() == 0 or q.sum() == 0:
        return
    assert jensenshannon(p, q) == pytest.approx(float(scipy_js(p, q, base=2)), abs=1e-9)


def test_recall_by_magnitude_and_no_false_alarms_at_large_n() -> None:
    """100k rows: 30 unshifted columns, shifts below and above the detection floor."""
    n = 100_000
    rng_ref, rng_cur = np.random.default_rng(10), np.random.default_rng(11)
    ref: dict[str, object] = {}
    cur: dict[str, object] = {}
    base = np.array(BASE_P)
    numeric_shifts = {"n_tiny": 0.03, "n_small": 0.15, "n_mid": 0.3, "n_big": 1.0}
    # JS 0.0125, 0.05, 0.14, 0.24: 0.05 is the distance of a ~0.12 sd normal shift, above the
    # practical floor (0.075 sd) every test shares
    cat_shifts = {"c_tiny": 0.05, "c_small": 0.2, "c_mid": 0.6, "c_big": 1.0}
    for i in range(20):
        ref[f"u_num{i}"], cur[f"u_num{i}"] = rng_ref.normal(0, 1, n), rng_cur.normal(0, 1, n)
    for i in range(10):
        ref[f"u_cat{i}"] = rng_ref.choice(CATS, n, p=base)
        cur[f"u_cat{i}"] = rng_cur.choice(CATS, n, p=base)
    for name, mu in numeric_shifts.items():
        ref[name], cur[name] = rng_ref.normal(0, 1, n), rng_cur.normal(mu, 1, n)
    for name, m in cat_shifts.items():
        p = base * (1 - m) + 0.2 * m
        ref[name] = rng_ref.choice(CATS, n, p=base)
        cur[name] = rng_cur.choice(CATS, n, p=p / p.sum())
    report = drift(pd.DataFrame(ref), pd.DataFrame(cur))
    drifted = set(report.drifted_columns)
    unshifted = {c for c in ref if c.startswith("u_")}
    real = {"n_small", "n_mid", "n_big", "c_small", "c_mid", "c_big"}
    trivial = {"n_tiny", "c_tiny"}  # below the effect-size thresholds on purpose
    recall = len(drifted & real) / len(real)
    false_alarm_rate = len(drifted & unshifted) / len(unshifted)
    assert recall == 1.0, f"missed {real - drifted}"
    assert false_alarm_rate == 0.0, f"false alarms {drifted & unshifted}"
    assert not drifted & trivial
    # effect sizes grow with the planted magnitude
    effects = [report[c].effect_size for c in numeric_shifts]
    assert effects == sorted(effects)
