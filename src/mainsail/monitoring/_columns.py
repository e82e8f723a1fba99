"""One view of a column for drift tests, whether it is raw data or a mergeable sketch.

Tests ask a column for its size, its CDF on a grid of points, its quantiles, or its
category counts. Raw columns answer exactly (numpy); sketch columns answer from a
:class:`~mainsail.data.ColumnProfile` (KLL quantile sketch and exact value counts), so
the same test code runs on frames and on profiles merged over a window.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from mainsail.data._datetimes import series_ns, ticks_to_ns
from mainsail.data._profile import ColumnProfile

__all__ = ["ColumnData", "RawColumn", "SketchColumn", "numeric_kind", "ticks_to_ns"]


class ColumnData(Protocol):
    kind: str  # "numeric" or "categorical"
    n: int

    def cdf(self, points: np.ndarray) -> np.ndarray: ...
    def quantiles(self, qs: np.ndarray) -> np.ndarray: ...
    def bounds(self) -> tuple[float, float]: ...
    def std(self) -> float: ...
    def counts(self) -> dict[str, int]: ...
    def raw(self) -> np.ndarray | None: ...


class RawColumn:
    """A column of values; missing values are dropped (data quality reports them)."""

    def __init__(self, values: pd.Series | np.ndarray, kind: str) -> None:
        self.kind = kind
        if kind == "numeric":
            if isinstance(values, pd.Series) and pd.api.types.is_datetime64_any_dtype(values):
                arr = series_ns(values)
            else:
                arr = np.asarray(
                    values.to_numpy(dtype="float64", na_value=np.nan)
                    if isinstance(values, pd.Series)
                    else values,
                    dtype="float64",
                )
            finite = np.isfinite(arr)
            self._values = arr if finite.all() else arr[finite]
            self._sorted: np.ndarray | None = None
            self._counts: dict[str, int] | None = None
            self.n = int(self._values.size)
            self._bounds: tuple[float, float] | None = None
            self._std: float | None = None
        else:
            s = values if isinstance(values, pd.Series) else pd.Series(values)
            vc = s.value_counts(dropna=True, sort=False)
            self._counts = {str(k): int(v) for k, v in vc.items()}
            self._values = np.empty(0)
            self._sorted = None
            self.n = int(vc.sum())
            self._bounds = None
            self._std = None

    @classmethod
    def from_counts(cls, counts: dict[str, int]) -> RawColumn:
        """A categorical column known by its value counts (missing values left out)."""
        col = cls(np.empty(0, dtype=object), "categorical")
        col._counts = dict(counts)
        col.n = int(sum(counts.values()))
        return col

    def _sorted_values(self) -> np.ndarray:
        if self._sorted is None:
            self._sorted = np.sort(self._values)
        return self._sorted

    def cdf(self, points: np.ndarray) -> np.ndarray:
        if self.n == 0:
            return np.zeros(len(points))
        if self.n > 20_000 and self._sorted is None and _evenly_spaced(points):
            # Uniform-grid histogram: O(n) with no sort; exact at the grid points.
            return _grid_cdf(self._values, points, self.bounds())
        return np.searchsorted(self._sorted_values(), points, side="right") / self.n

    def quantiles(self, qs: np.ndarray) -> np.ndarray:
        """Quantiles (linear interpolation, numpy's default) from one sort of the column:
        the drift tests ask for hundreds of them, and ``np.quantile`` would partition the
        column again for each call."""
        if self.n == 0:
            return np.full(len(qs), np.nan)
        v = self._sorted_values()
        pos = np.clip(np.asarray(qs, dtype="float64"), 0.0, 1.0) * (self.n - 1)
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, self.n - 1)
        frac = pos - lo
        out: np.ndarray = v[lo] * (1 - frac) + v[hi] * frac  # no overflow near +-1e308
        return out

    def bounds(self) -> tuple[float, float]:
        if self.n == 0:
            return (np.nan, np.nan)
        if self._bounds is None:
            self._bounds = float(self._values.min()), float(self._values.max())
        return self._bounds

    def std(self) -> float:
        if self._std is None:
            self._std = float(self._values.std(ddof=1)) if self.n > 1 else 0.0
        return self._std

    def counts(self) -> dict[str, int]:
        return dict(self._counts or {})

    def raw(self) -> np.ndarray | None:
        return self._values if self.kind == "numeric" else None


def _evenly_spaced(points: np.ndarray) -> bool:
    steps = np.diff(points)
    return len(points) > 2 and bool(np.allclose(steps, steps[0], rtol=1e-9, atol=0))


def _grid_cdf(
    values: np.ndarray, points: np.ndarray, bounds: tuple[float, float] | None = None
) -> np.ndarray:
    """CDF at ``points``; O(n) with no sort when the points are evenly spaced."""
    n = values.size
    steps = np.diff(points)
    if len(points) > 2 and np.allclose(steps, steps[0], rtol=1e-9, atol=0):
        lo, hi = float(points[0]), float(points[-1])
        nbins = len(points) - 1
        if bounds is not None and lo <= bounds[0] and bounds[1] <= hi:
            # Every value is inside the grid (the drift tests build it from both columns'
            # bounds): bin indices by one multiply and a bincount, ~3x faster than
            # np.histogram. Bins are [a, b), the last one [a, b], as np.histogram's.
            idx = (values - lo) * (nbins / (hi - lo))
            bins = idx.astype(np.intp)
            np.minimum(bins, nbins - 1, out=bins)
            hist = np.bincount(bins, minlength=nbins)
            below = 0
        else:
            hist, _ = np.histogram(values, bins=nbins, range=(lo, hi))
            below = int(np.count_nonzero(values < lo))
        at_lo = int(np.count_nonzero(values == lo))
        cum = np.empty(len(points))
        cum[0] = below + at_lo
        # Bins are [a, b) except the last, [a, b]: CDF(b) counts values <= b.
        inner = np.cumsum(hist)
        cum[1:] = below + inner
        cum[-1] = below + inner[-1]
        return cum / n
    return np.searchsorted(np.sort(values), points, side="right") / n


class SketchColumn:
    """A column summarised by a profile (KLL sketch for numbers, counts for categories).

    Profiles keep datetimes in seconds since the epoch; this view answers in ns, as raw
    columns do, so a profile and a frame of the same instants agree.
    """

    def __init__(self, profile: ColumnProfile, kind: str) -> None:
        self.kind = kind
        self._p = profile
        self.n = int(profile.count)
        self._sk: Any = profile.sketch() if kind == "numeric" else None
        self._scale = 1e9 if profile.dtype == "datetime" else 1.0

    def cdf(self, points: np.ndarray) -> np.ndarray:
        if self.n == 0 or self._sk.is_empty():
            return np.zeros(len(points))
        lo, hi = self.bounds()
        inner = np.asarray(points, dtype="float64")
        out = np.empty(len(inner))
        mask = (inner >= lo) & (inner < hi)
        out[inner < lo] = 0.0
        out[inner >= hi] = 1.0
        if mask.any():
            pts = np.unique(inner[mask])
            # get_cdf(split_points) returns len+1 values: mass <= each point, then 1.
            vals = np.asarray(self._sk.get_cdf(list(pts / self._scale), inclusive=True))[:-1]
            out[mask] = np.interp(inner[mask], pts, vals)
        return out

    def quantiles(self, qs: np.ndarray) -> np.ndarray:
        if self.n == 0:
            return np.full(len(qs), np.nan)
        return np.asarray(self._sk.get_quantiles(list(qs)), dtype="float64") * self._scale

    def bounds(self) -> tuple[float, float]:
        p = self._p
        if p.min is None or p.max is None:
            return (np.nan, np.nan)
        return float(p.min) * self._scale, float(p.max) * self._scale

    def std(self) -> float:
        return float(self._p.std or 0.0) * self._scale

    def counts(self) -> dict[str, int]:
        return dict(self._p.values or {})

    def raw(self) -> np.ndarray | None:
        return None

    def rank_error(self) -> float:
        """One standard error of the sketch's ranks (0 while it still holds every value)."""
        if self._sk is None or self._sk.is_empty() or not self._sk.is_estimation_mode():
            return 0.0
        return float(self._sk.normalized_rank_error(False)) / 2.576  # a 99 % bound


def numeric_kind(dtype: str) -> str:
    """Map a schema/profile dtype to the drift kind."""
    return "numeric" if dtype in ("int", "float", "datetime") else "categorical"
