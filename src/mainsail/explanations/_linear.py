"""Exact attributions of linear models in closed form, in margin (or raw) space.

For ``f(x) = w . x + b`` and background rows with mean ``m`` (features taken as
independent), the Shapley value of feature ``j`` is ``w_j * (x_j - m_j)`` and the base value
is ``w . m + b``. A scikit-learn Pipeline qualifies when every step before the linear model
transforms each column on its own (scalers, imputers, power and quantile transforms): then
``f(x) = sum_j w_j * g_j(x_j) + b`` and the same formula holds on the transformed columns,
with the mean of the transformed background.

Classifiers are explained on ``decision_function`` (log-odds for logistic regression;
one score per class for multiclass), regressors on ``predict``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mainsail.core._errors import InvalidValueError
from mainsail.explanations._explanation import Explanation
from mainsail.explanations._model import ModelView, output_names
from mainsail.explanations._protocol import BackgroundRequiredError

#: Transformers that map each column on its own, keeping the column count.
_FEATUREWISE = frozenset(
    {
        "StandardScaler",
        "MinMaxScaler",
        "MaxAbsScaler",
        "RobustScaler",
        "PowerTransformer",
        "QuantileTransformer",
        "SimpleImputer",
    }
)
#: Of those, the affine ones: the transformed mean is the transform of the mean.
_AFFINE = frozenset({"StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler"})
#: Linear models whose prediction goes through a link function: not explained here.
_GLM = frozenset({"PoissonRegressor", "GammaRegressor", "TweedieRegressor"})


def _split(native: Any) -> tuple[list[Any], Any]:
    """(preprocessing steps, final estimator) of a Pipeline, or ([], native)."""
    steps = getattr(native, "steps", None)
    if steps is None or type(native).__name__ != "Pipeline":
        return [], native
    pre = [step for _, step in steps[:-1] if step not in (None, "passthrough")]
    return pre, steps[-1][1]


def _is_linear(est: Any) -> bool:
    module, name = type(est).__module__, type(est).__name__
    if not (module.startswith("sklearn.linear_model") or name in ("LinearSVC", "LinearSVR")):
        return False
    if name in _GLM or not hasattr(est, "coef_") or not hasattr(est, "intercept_"):
        return False
    return np.ndim(est.coef_) == 1 or np.shape(est.coef_)[0] >= 1


def _featurewise(step: Any) -> bool:
    name = type(step).__name__
    if name not in _FEATUREWISE:
        return False
    return not (name == "SimpleImputer" and getattr(step, "add_indicator", False))


class LinearExplainer:
    """Closed-form exact attributions of scikit-learn linear models.

    Parameters
    ----------
    use_reference : bool, default True
        Without ``background=``, measure against the means of the registry version's
        reference data (its profile), when the model has one and every step before the
        linear model is affine.
    """

    exact: ClassVar[bool] = True
    needs_background: ClassVar[bool] = False
    auto_rank: ClassVar[int | None] = 20

    def __init__(self, use_reference: bool = True) -> None:
        self.use_reference = use_reference

    def supports(self, model: ModelView) -> bool:
        pre, est = _split(model.native)
        if model.native is None or not _is_linear(est):
            return False
        if not all(_featurewise(step) for step in pre):
            return False
        coef = np.atleast_2d(np.asarray(est.coef_))
        return model.task in ("classification", "regression") and coef.ndim == 2

    def explain(
        self, model: ModelView, X: pd.DataFrame, background: pd.DataFrame | None = None
    ) -> Explanation:
        pre, est = _split(model.native)
        Xt = _transform(model, pre, X, "X")
        mean_t, rows = self._background_mean(model, pre, background)
        coef = np.atleast_2d(np.asarray(est.coef_, dtype="float64"))
        intercept = np.atleast_1d(np.asarray(est.intercept_, dtype="float64"))
        if coef.shape[1] != Xt.shape[1]:
            raise InvalidValueError(
                f"{model.label} has {coef.shape[1]} coefficients for {Xt.shape[1]} input "
                "columns; cannot attribute its output to its inputs."
            )
        if model.task == "classification":
            output = np.asarray(model.native.decision_function(model.model_input(X)))
            space = "margin"
        else:
            output = model.predict(X)
            space = "raw"
        n, k = len(X), coef.shape[0]
        values = (Xt - mean_t)[:, :, None] * coef.T[None, :, :]
        base = np.broadcast_to(mean_t @ coef.T + intercept, (n, k))
        return Explanation(
            values=values,
            base_values=base,
            output=np.asarray(output, dtype="float64").reshape(n, k),
            data=X,
            output_space=space,
            method="linear",
            outputs=output_names(model.classes, k),
            exact=True,
            model=model.label,
            background_rows=rows,
        )

    def _background_mean(
        self, model: ModelView, pre: list[Any], background: pd.DataFrame | None
    ) -> tuple[np.ndarray, int]:
        if background is not None:
            bt = _transform(model, pre, background, "background")
            return bt.mean(axis=0), len(background)
        means = model.reference_means
        affine = all(type(step).__name__ in _AFFINE for step in pre)
        if self.use_reference and means is not None and model.reference_rows and affine:
            row = pd.DataFrame([{c: means[c] for c in model.feature_names}])
            return _transform(model, pre, row, "reference means")[0], model.reference_rows
        raise BackgroundRequiredError(
            f"The 'linear' explainer measures {model.label}'s inputs against the average "
            "input, and has none. Pass background= (a DataFrame with the model's columns, "
            "e.g. a sample of the training features)"
            + (
                "; or register the model with reference= (its profile's means are used)."
                if model.flavor == "sklearn" and model.label.startswith("models:/")
                else "."
            )
        )


def _transform(model: ModelView, pre: list[Any], frame: pd.DataFrame, what: str) -> np.ndarray:
    data: Any = model.model_input(frame)
    try:
        for step in pre:
            data = step.transform(data)
    except (ValueError, TypeError) as exc:
        raise InvalidValueError(
            f"{model.label} could not transform {what}: {exc}. Pass rows the model can predict on."
        ) from exc
    arr = np.asarray(data, dtype="float64")
    if np.isnan(arr).any():
        col = int(np.flatnonzero(np.isnan(arr).any(axis=0))[0])
        name = frame.columns[col] if col < frame.shape[1] else col
        raise InvalidValueError(
            f"{what} has missing values in column {name!r}, and {model.label} does not take "
            "missing values there. Impute them first, or explain a model that handles them."
        )
    return arr


__all__ = ["LinearExplainer"]
