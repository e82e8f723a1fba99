"""Why a request was refused, per feature: the counts data-quality monitoring reads.

A request refused with a 4xx for schema or type reasons never reaches the prediction log,
so without these counts "upstream renamed a column" would be invisible to monitoring: all
traffic refused, no rows logged, nothing drifts. Each refusal is classified into a small
set of reasons, each with the features it concerns:

- ``missing_column``: a signature column the request did not send;
- ``unexpected_column``: a column the request sent that the signature does not have (next to
  a ``missing_column``, the pair reads as a rename);
- ``type``: a value of the wrong type (a string where a number belongs, ...);
- ``missing_value``: a missing value where the model was trained without any;
- ``malformed``: the request is not the shape its protocol defines (the feature is the
  field, e.g. ``dataframe_split.columns``).
"""

from __future__ import annotations

import re

from mainsail.core._errors import InvalidValueError, MainsailError

REASONS = ("missing_column", "unexpected_column", "type", "missing_value", "malformed")
MAX_FEATURES = 64  # distinct features per reason and window; more count as "__other__"

_QUOTED = re.compile(r"'([^']+)'")
_MISSING = re.compile(r"Missing input column\(s\): (.+?)\. Expected columns: .*?Got: (.*)\.$")


def classify(exc: MainsailError, names: list[str]) -> list[tuple[str, str]]:
    """``(reason, feature)`` pairs of a refused request (empty if not a schema/type refusal).

    ``names`` are the signature's input names. Errors that carry ``reason``/``features``
    details are taken at their word; the signature checks' messages are read otherwise.

    Examples
    --------
    >>> from mainsail.core import SignatureMismatchError
    >>> classify(SignatureMismatchError("Input 'age' must be a number (float). Got 'x'."), ["age"])
    [('type', 'age')]
    """
    if not isinstance(exc, InvalidValueError) or not 400 <= exc.status < 500:
        return []
    details = exc.details
    message = exc.message
    features = [str(f) for f in details.get("features") or []]
    if message.startswith("Missing input column"):
        got = _MISSING.search(message)
        missing = features or (
            [n.strip() for n in got.group(1).split(",")] if got else _quoted(message, names)
        )
        sent = [str(c) for c in details.get("sent") or []] or (
            [c.strip() for c in got.group(2).split(",")] if got else []
        )
        known = set(names)
        return [("missing_column", f) for f in missing] + [
            ("unexpected_column", c) for c in sent if c and c not in known
        ]
    if message.startswith("Missing input tensor"):
        return [("missing_column", f) for f in features]
    if message.startswith("Unexpected input column"):
        return [("unexpected_column", f) for f in features or _quoted(message, [])]
    if message.startswith("Input "):
        quoted = _quoted(message, names)[:1]
        reason = "missing_value" if "missing value" in message else "type"
        return [(reason, f) for f in quoted]
    field = exc.details.get("field")
    return [("malformed", str(field) if field else "request")]


def _quoted(message: str, names: list[str]) -> list[str]:
    """Quoted names in a message (only the signature's, when ``names`` is given)."""
    found = _QUOTED.findall(message)
    return [f for f in found if f in names] if names else found


__all__ = ["MAX_FEATURES", "REASONS", "classify"]
