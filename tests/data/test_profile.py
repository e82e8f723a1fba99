from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mainsail.data import Profile, profile_frame


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "k": rng.integers(0, 5, n),
            "c": rng.choice(["a", "b", "c"], n),
            "b": rng.random(n) < 0.3,
        }
    )


def test_profile_contents() -> None:
    df = _frame(10_000)
    p = profile_frame(df)
    x = p.columns["x"]
    assert p.row_count == 10_000
    assert x.missing == int(df["x"].isna().sum()) and x.count + x.missing == 10_000
    assert x.mean == pytest.approx(df["x"].mean()) and x.std == pytest.approx(df["x"].std())
    assert sum(x.hist or []) == x.count
    assert x.quantile(0.5) == pytest.approx(df["x"].median(), abs=0.05)
    assert p.columns["c"].values == df["c"].value_counts().to_dict()
    assert p.missing_rate("x") == pytest.approx(df["x"].isna().mean())


def test_round_trip() -> None:
    p = profile_frame(_frame(1000))
    back = Profile.from_dict(p.to_dict())
    assert back.to_dict() == p.to_dict()
    assert back.columns["x"].quantile(0.9) == p.columns["x"].quantile(0.9)


def test_reference_edges_and_out_of_range_values() -> None:
    ref = profile_frame(_frame(1000))
    shifted = _frame(1000, seed=1).assign(x=lambda d: d["x"] + 100)
    cur = profile_frame(shifted, reference=ref)
    assert cur.columns["x"].edges == ref.columns["x"].edges
    assert cur.columns["x"].hist[-1] == cur.columns["x"].count  # all beyond the last edge


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 400), cut=st.floats(0.05, 0.95), seed=st.integers(0, 10_000))
def test_merge_of_halves_equals_whole(n: int, cut: float, seed: int) -> None:
    df = _frame(n, seed)
    whole = profile_frame(df)
    k = max(1, int(n * cut))
    merged = profile_frame(df.iloc[:k], reference=whole).merge(
        profile_frame(df.iloc[k:], reference=whole)
    )
    assert merged.row_count == whole.row_count
    for name, col in whole.columns.items():
        m = merged.columns[name]
        assert (m.count, m.missing) == (col.count, col.missing)
        assert m.hist == col.hist
        assert m.values == col.values
        if col.count:
            assert m.sum == pytest.approx(col.sum, rel=1e-9, abs=1e-9)
            assert m.min == col.min and m.max == col.max


def test_merge_refuses_different_edges() -> None:
    a = profile_frame(_frame(100, 1))
    b = profile_frame(_frame(100, 2))
    with pytest.raises(ValueError, match="different bin edges"):
        a.merge(b)
