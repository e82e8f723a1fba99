"""Where a registry version is explained: next to the registry, or by the server.

:func:`~mainsail.explanations.explain` on an address (``"models:/churn@champion"``) asks
``ctx.service(EXPLANATIONS)``: embedded, and inside the server, :class:`LocalExplanations`
loads the version and explains it in this process; against a Mainsail server,
:class:`RemoteExplanations` sends the rows to ``POST /models/{name}/versions/{v}/explain``
and the server (which holds the model and its reference sample) explains them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from mainsail.core._errors import ConfigurationError, SignatureMismatchError
from mainsail.explanations._explanation import Explanation
from mainsail.explanations._tabular import frame_to_split
from mainsail.store._context import Service
from mainsail.store._rest_client import seg

if TYPE_CHECKING:
    from mainsail.core._registry_schemas import ModelVersion
    from mainsail.store._context import Context


class Explanations(Protocol):
    """Explains rows of a registry version."""

    def explain(
        self,
        version: ModelVersion,
        X: Any,
        *,
        method: str,
        background: Any,
        options: dict[str, Any],
    ) -> Explanation: ...


class LocalExplanations:
    """Loads the version from this context's registry and explains it here."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def explain(
        self,
        version: ModelVersion,
        X: Any,
        *,
        method: str,
        background: Any,
        options: dict[str, Any],
    ) -> Explanation:
        from mainsail.explanations._explain import explain_view
        from mainsail.explanations._model import model_view

        return explain_view(model_view(self.ctx, version), X, method, background, options)


def as_frame(data: Any, version: ModelVersion, what: str) -> pd.DataFrame:
    """Rows to send to the server: a DataFrame, records, or an array in signature order."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame().T
    if isinstance(data, dict) or (isinstance(data, list) and data and isinstance(data[0], dict)):
        return pd.DataFrame(data)
    names = [c["name"] for c in version.signature.get("inputs", {}).get("columns", [])]
    arr = np.asarray(data, dtype=object)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise SignatureMismatchError(
            f"Expected {what} as a table with {len(names)} columns ({', '.join(names)}). Got an "
            f"array of shape {arr.shape}. Pass a DataFrame with named columns."
        )
    return pd.DataFrame(arr, columns=names)


class RemoteExplanations:
    """Asks the server to explain the rows (``POST /models/{name}/versions/{v}/explain``)."""

    def __init__(self, ctx: Context) -> None:
        if ctx.remote is None:  # the Service builds this only for a server's context
            raise ConfigurationError(
                "RemoteExplanations explains through a Mainsail server, and this context has "
                "none. Use ctx.service(EXPLANATIONS), which picks LocalExplanations next to "
                "the database."
            )
        self.api = ctx.remote

    def explain(
        self,
        version: ModelVersion,
        X: Any,
        *,
        method: str,
        background: Any,
        options: dict[str, Any],
    ) -> Explanation:
        body: dict[str, Any] = {
            "data": frame_to_split(as_frame(X, version, "X")),
            "method": method,
            "options": options,
        }
        if background is not None:
            body["background"] = frame_to_split(as_frame(background, version, "background"))
        path = f"/models/{seg(version.name)}/versions/{version.version}/explain"
        return Explanation.from_dict(self.api.json("POST", path, json=body))


EXPLANATIONS: Service[Explanations] = Service(
    "explanations",
    local="mainsail.explanations._service:LocalExplanations",
    remote="mainsail.explanations._service:RemoteExplanations",
)
"""Where :func:`~mainsail.explanations.explain` explains a registry version."""


__all__ = ["EXPLANATIONS", "Explanations", "LocalExplanations", "RemoteExplanations", "as_frame"]
