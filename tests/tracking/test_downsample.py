"""Downsampling a metric series: bounded, ends kept, shape kept, spikes kept by min/max."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mainsail.core._errors import InvalidValueError
from mainsail.tracking._downsample import downsample

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    values=arrays(np.float64, st.integers(1, 3000), elements=finite),
    max_points=st.integers(3, 500),
    method=st.sampled_from(["lttb", "minmax"]),
)
def test_indices_are_bounded_increasing_and_keep_both_ends(
    values: np.ndarray, max_points: int, method: str
) -> None:
    steps = np.arange(len(values)) * 3
    idx = downsample(steps, values, max_points, method)
    assert len(idx) <= max_points
    assert idx[0] == 0 and idx[-1] == len(values) - 1
    assert np.all(np.diff(idx) > 0) and idx.dtype == np.intp
    if len(values) <= max_points:
        assert len(idx) == len(values)  # a short series is kept whole
    elif method == "lttb":
        assert len(idx) == max_points


@settings(max_examples=100, deadline=None)
@given(
    values=arrays(np.float64, st.integers(10, 3000), elements=finite),
    max_points=st.integers(4, 200),
)
def test_minmax_keeps_the_lowest_and_highest_value(values: np.ndarray, max_points: int) -> None:
    idx = downsample(np.arange(len(values)), values, max_points, "minmax")
    assert values[idx].min() == values.min() and values[idx].max() == values.max()


def test_lttb_keeps_a_spike_and_the_shape_of_a_long_curve() -> None:
    x = np.arange(100_000)
    y = np.sin(x / 5000)
    y[31_337] = 40.0
    idx = downsample(x, y, 1000)
    assert len(idx) == 1000 and 31_337 in idx
    kept = np.interp(x, x[idx], y[idx])
    mask = np.abs(x - 31_337) > 200
    assert np.max(np.abs(kept - y)[mask]) < 0.01  # the curve, drawn from 1% of its points


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([0, 1], [1.0], 10), "two 1-d arrays of one length"),
        (([0, 1, 2], [1.0, 2.0, 3.0], 2), "at least 3"),
        ((list(range(10)), [0.0] * 10, 5, "median"), "Valid methods are: lttb, minmax"),
    ],
)
def test_bad_input_says_what_was_expected(args: tuple, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        downsample(*args)
