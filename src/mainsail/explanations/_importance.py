"""The global importance a model version keeps: mean |SHAP| on a bounded reference sample.

:func:`importance_record` is what ``register_model(..., reference=X)`` stores on the version
(in its card, under ``global_importance``) and what the model card draws as a bar chart. It
never fails a registration: a model no explainer supports, or a missing optional package
(``shap`` for scikit-learn trees), gives a record that says why it was skipped.

The cost is bounded whatever the reference's size: exact methods (TreeSHAP, the linear
closed form) explain a deterministic sample of :data:`EXACT_ROWS` rows; the model-agnostic
fallback (permutation sampling) explains :data:`SAMPLED_ROWS` rows against
:data:`SAMPLED_BACKGROUND` background rows with :data:`SAMPLED_PERMUTATIONS` order pairs.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pandas as pd

from mainsail.core._errors import MainsailError
from mainsail.explanations._explain import choose_method, global_importance
from mainsail.explanations._model import ModelView, model_view

_log = logging.getLogger(__name__)

#: Rows of the reference an exact method explains at registration.
EXACT_ROWS = 1000
#: Rows of the reference the sampling fallback explains at registration.
SAMPLED_ROWS = 100
#: Background rows the sampling fallback measures against at registration.
SAMPLED_BACKGROUND = 50
#: Pairs of feature orders the permutation fallback samples per row at registration.
SAMPLED_PERMUTATIONS = 3


def importance_record(
    model: Any,
    reference: pd.DataFrame,
    seed: int = 0,
    max_rows: int = EXACT_ROWS,
    method: str = "auto",
) -> dict[str, Any]:
    """Global importance of ``model`` on ``reference``, as JSON-ready data.

    An exact method explains at most ``max_rows`` rows; a sampling method at most
    ``min(max_rows, SAMPLED_ROWS)``, with the bounded permutation settings above.

    Returns
    -------
    dict
        ``{"features": {name: mean |attribution|, ...} (largest first), "method",
        "output_space", "exact", "rows", "seconds"}``; or ``{"skipped": reason}`` when the
        model cannot be explained here.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 1.0, 0.0, 2.0]})
    >>> record = importance_record(LinearRegression().fit(X, [0.0, 2.0, 4.0, 6.0]), X)
    >>> record["method"], next(iter(record["features"]))
    ('linear', 'a')
    """
    t0 = time.perf_counter()
    try:
        view: ModelView = model_view(None, model)
        name, explainer = choose_method(view, method, {})
        options: dict[str, Any] = {}
        if not getattr(explainer, "exact", False):
            max_rows = min(max_rows, SAMPLED_ROWS)
            if name == "permutation":
                options = {
                    "n_permutations": SAMPLED_PERMUTATIONS,
                    "max_background": SAMPLED_BACKGROUND,
                }
        importance = global_importance(
            None, view, reference, max_rows=max_rows, method=name, seed=seed, **options
        )
    except MainsailError as exc:
        _log.warning("No global importance stored for %s: %s", _label(model), exc)
        return {"skipped": f"{exc.headline}: {exc}"}
    except Exception as exc:  # noqa: BLE001 - an explainer's own failure must not fail a registration
        _log.warning("No global importance stored for %s: %r", _label(model), exc)
        return {"skipped": f"The explainer failed: {type(exc).__name__}: {exc}"}
    return {
        "features": {str(k): float(v) for k, v in importance.items()},
        "method": str(importance.attrs["method"]),
        "output_space": str(importance.attrs["output_space"]),
        "exact": bool(importance.attrs["exact"]),
        "rows": int(importance.attrs["rows"]),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _label(model: Any) -> str:
    return model.label if isinstance(model, ModelView) else type(model).__name__


__all__ = [
    "EXACT_ROWS",
    "SAMPLED_BACKGROUND",
    "SAMPLED_PERMUTATIONS",
    "SAMPLED_ROWS",
    "importance_record",
]
