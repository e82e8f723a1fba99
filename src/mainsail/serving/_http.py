"""HTTP pieces the data plane's routes share: JSON responses and the payload-size error."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from starlette.responses import Response

from mainsail.core._errors import MainsailError

JSON = "application/json"


class TooLarge(MainsailError):
    headline = "Payload too large"
    status = 413


def _numpy_fallback(obj: Any) -> Any:
    # orjson serialises numeric numpy arrays itself; string or object arrays (a classifier
    # trained on string labels predicts those) come here, as do numpy scalars.
    if isinstance(obj, np.ndarray | np.generic):
        return obj.tolist()
    raise TypeError(f"Type is not JSON serializable: {type(obj).__name__}")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``data`` as JSON (numpy arrays included), parsed once, encoded once."""
    return Response(
        orjson.dumps(data, default=_numpy_fallback, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type=JSON,
        headers=headers,
    )


__all__ = ["JSON", "TooLarge", "json_response"]
