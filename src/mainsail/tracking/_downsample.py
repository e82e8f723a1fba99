"""Downsample a long metric series to a few thousand points a chart can draw at once.

Two methods, both pure numpy over the points sorted by ``x`` (the step):

- ``lttb`` (Largest-Triangle-Three-Buckets, Steinarsson 2013): keeps the first and last
  points and, from each bucket in between, the point that makes the largest triangle with
  the point kept before and the mean of the next bucket. It keeps the shape of a curve.
- ``minmax``: keeps the first and last points and each bucket's lowest and highest point, in
  step order. It keeps every spike, at twice the points for the same buckets.

Both return the *indices* of the kept points (strictly increasing), so the caller can take
the matching step, value and timestamp from its arrays.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from mainsail.core._errors import InvalidValueError

Method = Literal["lttb", "minmax"]
METHODS: tuple[str, ...] = ("lttb", "minmax")

IntArray = npt.NDArray[np.intp]


def downsample(
    x: npt.ArrayLike, y: npt.ArrayLike, max_points: int, method: str = "lttb"
) -> IntArray:
    """The indices of at most ``max_points`` points that keep the look of ``(x, y)``.

    Parameters
    ----------
    x, y : array_like
        The series, of equal length, sorted by ``x``.
    max_points : int
        The largest number of points to keep (at least 3); a shorter series is kept whole.
    method : {"lttb", "minmax"}
        See the module's description.

    Returns
    -------
    numpy.ndarray
        Strictly increasing indices into ``x``/``y``, always with the first and last point.

    Examples
    --------
    >>> import numpy as np
    >>> idx = downsample(np.arange(100_000), np.sin(np.arange(100_000) / 500), 1000)
    >>> len(idx), int(idx[0]), int(idx[-1])
    (1000, 0, 99999)
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise InvalidValueError(
            f"downsample expects two 1-d arrays of one length; got shapes {xs.shape} and "
            f"{ys.shape}. Pass the steps and the values of one series."
        )
    if max_points < 3:
        raise InvalidValueError(
            f"max_points must be at least 3 (the first, the last and one between); got "
            f"{max_points}. Ask for a few hundred to a few thousand points."
        )
    if method not in METHODS:
        raise InvalidValueError(
            f"Unknown downsampling method {method!r}. Valid methods are: {', '.join(METHODS)}."
        )
    n = len(xs)
    if n <= max_points:
        return np.arange(n, dtype=np.intp)
    if method == "minmax" and max_points >= 4:  # a bucket's low and high need two places
        return _minmax(ys, max_points)
    return _lttb(xs, ys, max_points)


def _bucket_edges(n: int, buckets: int) -> IntArray:
    """Edges splitting the inner points ``1 .. n-2`` into ``buckets`` near-equal runs."""
    return (1 + (np.arange(buckets + 1) * (n - 2)) // buckets).astype(np.intp)


def _lttb(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], max_points: int) -> IntArray:
    n = len(x)
    buckets = max_points - 2
    edges = _bucket_edges(n, buckets)
    # The mean of each bucket is known up front; only the previously kept point is sequential.
    sums_x = np.add.reduceat(x[1 : n - 1], edges[:-1] - 1)
    sums_y = np.add.reduceat(y[1 : n - 1], edges[:-1] - 1)
    counts = np.diff(edges)
    mean_x = np.append(sums_x / counts, x[-1])
    mean_y = np.append(sums_y / counts, y[-1])
    out = np.empty(max_points, dtype=np.intp)
    out[0], out[-1] = 0, n - 1
    a = 0
    for b in range(buckets):
        lo, hi = edges[b], edges[b + 1]
        cx, cy = mean_x[b + 1], mean_y[b + 1]
        ax, ay = x[a], y[a]
        # Twice the triangle's area; the constant factor does not change the argmax.
        area = np.abs((ax - cx) * (y[lo:hi] - ay) - (ax - x[lo:hi]) * (cy - ay))
        a = lo + int(np.argmax(area))
        out[b + 1] = a
    return out


def _minmax(y: npt.NDArray[np.float64], max_points: int) -> IntArray:
    n = len(y)
    buckets = (max_points - 2) // 2
    edges = _bucket_edges(n, buckets)
    inner = y[1 : n - 1]
    # fmin/fmax skip NaN: a bucket of NaN only keeps no point; the others keep theirs.
    bucket = np.repeat(np.arange(buckets), np.diff(edges))
    lows = _first_per_bucket(inner == np.fmin.reduceat(inner, edges[:-1] - 1)[bucket], bucket)
    highs = _first_per_bucket(inner == np.fmax.reduceat(inner, edges[:-1] - 1)[bucket], bucket)
    kept = np.unique(np.concatenate(([0, n - 1], lows + 1, highs + 1)))
    return kept.astype(np.intp)


def _first_per_bucket(mask: npt.NDArray[np.bool_], bucket: IntArray) -> IntArray:
    """The first index where ``mask`` holds, in each bucket (``bucket`` is sorted)."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return idx
    b = bucket[idx]
    return idx[np.r_[True, b[1:] != b[:-1]]]
