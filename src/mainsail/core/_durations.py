"""Durations as people write them: ``30``, ``"30s"``, ``"5m"``, ``"6h"``, ``"7d"``, ``"2w"``."""

from __future__ import annotations

import re
from typing import Any

from mainsail.core._errors import InvalidValueError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")


def parse_duration(value: Any, allow_zero: bool = False) -> float:
    """Seconds in ``value``: a number of seconds, or a number with a unit (ms s m h d w).

    Examples
    --------
    >>> parse_duration("5m"), parse_duration("1h"), parse_duration(90)
    (300.0, 3600.0, 90.0)
    >>> parse_duration("0s", allow_zero=True)
    0.0
    """
    floor = "zero or more" if allow_zero else "positive"
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value)) if not isinstance(value, bool) else None
        if match is None:
            raise InvalidValueError(
                f"Expected a duration such as 30, '30s', '5m', '1h', '7d' or '2w'. Got {value!r}."
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise InvalidValueError(f"A duration must be {floor}. Got {value!r}.")
    return seconds
