"""Datetimes as instants: float64 nanoseconds since the epoch, whatever the stored unit.

Drift and profiles compare when things happened, not the ticks of the unit a file or a
frame happens to use (pandas 3 keeps the unit it read; Parquet has ms, us and ns).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mainsail.core._errors import UnsupportedColumnTypeError

#: Nanoseconds in one tick of a datetime stored in each unit.
NS_PER_TICK = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}


def ticks_to_ns(ticks: np.ndarray, unit: str) -> np.ndarray:
    """Datetime ticks (float64, NaN for missing) as float64 nanoseconds since the epoch.

    The same instant stored in seconds, ms, us or ns gives the same float: ticks coarser
    than ns are exact in float64 and one multiply rounds them once, as the int64 -> float64
    conversion rounds ns ticks.
    """
    try:
        scale = NS_PER_TICK[unit]
    except KeyError:
        raise UnsupportedColumnTypeError(
            f"Expected a datetime unit, one of {', '.join(NS_PER_TICK)}. Got {unit!r}; "
            "convert the column to datetime64[ns] first."
        ) from None
    return ticks * scale if scale != 1.0 else ticks


def series_ns(s: pd.Series) -> np.ndarray:
    """A datetime column as float64 ns since the epoch (NaN for NaT), whatever its unit.

    pandas keeps the unit a column was read or built in (s, ms, us or ns), and a tz-aware
    column stands for its UTC instants. NaT becomes NaN rather than the int64 minimum
    that ``to_numpy(dtype="float64")`` gives it.
    """
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert(None)
    unit = str(s.dt.unit)
    ticks = s.to_numpy().view("int64").astype("float64")
    ticks[s.isna().to_numpy()] = np.nan
    return ticks_to_ns(ticks, unit)
