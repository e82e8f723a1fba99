"""Bounded deterministic samples, and the numeric coding the sampling methods work on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mainsail.core._errors import InvalidValueError
from mainsail.explanations._tabular import Codec, sample_rows


def test_sample_rows_is_bounded_deterministic_and_ordered() -> None:
    df = pd.DataFrame({"a": np.arange(1000)})
    one, two = sample_rows(df, 50, seed=3), sample_rows(df, 50, seed=3)
    assert len(one) == 50 and one.equals(two)
    assert one["a"].is_monotonic_increasing
    assert not one.equals(sample_rows(df, 50, seed=4))
    assert len(sample_rows(df.head(10), 50)) == 10
    with pytest.raises(InvalidValueError, match="positive integer"):
        sample_rows(df, 0)


def test_codec_round_trips_mixed_dtypes() -> None:
    df = pd.DataFrame(
        {
            "n": [1.5, np.nan, 3.0],
            "i": np.array([1, 2, 3], dtype="int64"),
            "s": ["b", "a", None],
            "c": pd.Categorical(["x", "y", "x"]),
            "flag": [True, False, True],
        }
    )
    other = df.assign(s=["c", "c", "a"])
    codec = Codec(df, other)
    assert codec.categorical_indices == [2, 3, 4]
    matrix = codec.encode(df)
    assert matrix.dtype == np.float64 and np.isnan(matrix[1, 0]) and np.isnan(matrix[2, 2])
    back = codec.decode(matrix)
    assert back["i"].dtype == np.int64 and back["c"].dtype == df["c"].dtype
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    # a sampler may draw fractional codes: they round to a seen value
    matrix[0, 2] = 1.4
    assert codec.decode(matrix)["s"].iloc[0] == "b"
