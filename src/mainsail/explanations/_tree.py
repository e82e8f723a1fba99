"""Exact TreeSHAP for tree ensembles (path-dependent: no background data needed).

- XGBoost: the booster's own ``predict(..., pred_contribs=True)``; margin space, except
  identity-link regression objectives (``raw``). XGBoost computes in float32, so its
  attributions add up to its float32 output within float32 rounding.
- LightGBM: the booster's own ``predict(..., pred_contrib=True)``; margin space, except
  identity-link regression objectives (``raw``).
- scikit-learn decision trees, random forests and extra trees (probability space for
  classifiers, ``raw`` for regressors), gradient boosting and histogram gradient boosting
  (margin for classifiers, ``raw`` for identity-loss regressors): ``shap.TreeExplainer``,
  and for multiclass ``GradientBoostingClassifier`` (which shap does not take) the same
  algorithm over each class's trees.

The output the attributions are checked against is the model's own, computed separately
(``decision_function``, ``predict_proba``, ``output_margin=True``, ``raw_score=True``).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mainsail.explanations import _deps
from mainsail.explanations._explanation import Explanation
from mainsail.explanations._model import ModelView, output_names

_SK_PROBA = frozenset(
    {
        "DecisionTreeClassifier",
        "ExtraTreeClassifier",
        "RandomForestClassifier",
        "ExtraTreesClassifier",
    }
)
_SK_RAW = frozenset(
    {"DecisionTreeRegressor", "ExtraTreeRegressor", "RandomForestRegressor", "ExtraTreesRegressor"}
)
_SK_MARGIN = frozenset({"GradientBoostingClassifier", "HistGradientBoostingClassifier"})
_SK_BOOSTED_REGRESSORS = frozenset({"GradientBoostingRegressor", "HistGradientBoostingRegressor"})
#: Boosted regressors whose prediction is the sum of the trees (no link function).
_IDENTITY_LOSSES = frozenset({"squared_error", "absolute_error", "huber", "quantile"})

_XGB_IDENTITY = frozenset(
    {
        "reg:squarederror",
        "reg:squaredlogerror",
        "reg:absoluteerror",
        "reg:pseudohubererror",
        "reg:quantileerror",
        "reg:linear",
    }
)
_LGB_IDENTITY = frozenset(
    {
        "regression",
        "regression_l2",
        "l2",
        "mean_squared_error",
        "mse",
        "l2_root",
        "root_mean_squared_error",
        "rmse",
        "regression_l1",
        "l1",
        "mean_absolute_error",
        "mae",
        "huber",
        "fair",
        "quantile",
        "mape",
        "mean_absolute_percentage_error",
    }
)


def tree_kind(native: Any) -> str | None:
    """``xgboost``, ``lightgbm``, ``sklearn`` or ``None`` (not a tree model we explain)."""
    if native is None:
        return None
    module, name = type(native).__module__, type(native).__name__
    if module.startswith("xgboost"):
        booster = native.get_booster() if hasattr(native, "get_booster") else native
        return "xgboost" if _xgb_booster_type(booster) in ("gbtree", "dart") else None
    if module.startswith("lightgbm"):
        return "lightgbm"
    if not module.startswith(("sklearn.tree", "sklearn.ensemble")):
        return None
    if getattr(native, "n_outputs_", 1) != 1:
        return None  # multi-output trees: one attribution array per output, not supported
    if name in _SK_PROBA or name in _SK_RAW:
        return "sklearn"
    if name in _SK_MARGIN or name in _SK_BOOSTED_REGRESSORS:
        categorical = getattr(native, "is_categorical_", None)
        if categorical is not None and np.any(categorical):
            return None  # native categorical splits: shap cannot read their bitsets
        if name in _SK_BOOSTED_REGRESSORS and getattr(native, "loss", None) not in (
            _IDENTITY_LOSSES
        ):
            return None  # a log link (poisson, gamma): explained by the fallback
        if name == "GradientBoostingClassifier" and not _gbc_constant_init(native):
            return None
        return "sklearn"
    return None


def _xgb_booster_type(booster: Any) -> str | None:
    try:
        config = json.loads(booster.save_config())
    except Exception:  # noqa: BLE001 - an unfitted model
        return None
    return str(config["learner"]["gradient_booster"]["name"])


def _gbc_constant_init(model: Any) -> bool:
    init = getattr(model, "init_", None)
    return init == "zero" or type(init).__name__ == "DummyClassifier"


class TreeExplainer:
    """Exact TreeSHAP for XGBoost, LightGBM and scikit-learn tree models.

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    >>> model = DecisionTreeRegressor(max_depth=2).fit(X, [0.0, 1.0, 2.0, 3.0])
    >>> from mainsail.explanations import explain
    >>> e = explain(None, model, X, method="tree")  # doctest: +SKIP
    >>> e.additivity_error < 1e-9  # doctest: +SKIP
    True
    """

    exact: ClassVar[bool] = True
    needs_background: ClassVar[bool] = False
    auto_rank: ClassVar[int | None] = 10

    def supports(self, model: ModelView) -> bool:
        return tree_kind(model.native) is not None

    def explain(
        self, model: ModelView, X: pd.DataFrame, background: pd.DataFrame | None = None
    ) -> Explanation:
        """Attributions of ``X``; ``background`` is not used (path-dependent TreeSHAP)."""
        kind = tree_kind(model.native)
        if kind == "xgboost":
            values, base, output, space = _xgboost(model.native, X)
        elif kind == "lightgbm":
            values, base, output, space = _lightgbm(model.native, X)
        else:
            values, base, output, space = _sklearn(model, X)
        return Explanation(
            values=values,
            base_values=base,
            output=output,
            data=X,
            output_space=space,
            method="tree",
            outputs=output_names(model.classes, values.shape[2]),
            exact=True,
            model=model.label,
        )


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, str]


def _split_bias(contribs: np.ndarray, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(n, k, f + 1)`` contributions (bias last) -> values ``(n, f, k)``, base ``(n, k)``."""
    c = np.asarray(contribs, dtype="float64").reshape(n, k, -1)
    return c[:, :, :-1].transpose(0, 2, 1), c[:, :, -1]


def _xgboost(native: Any, X: pd.DataFrame) -> Arrays:
    xgb = _deps.xgboost()
    booster = native.get_booster() if hasattr(native, "get_booster") else native
    config = json.loads(booster.save_config())
    objective = str(config["learner"]["objective"]["name"])
    try:  # the sklearn wrapper predicts with the best iteration after early stopping
        iteration_range = (0, int(booster.best_iteration) + 1)
    except (AttributeError, TypeError, ValueError):
        iteration_range = (0, 0)
    categorical = any(isinstance(t, pd.CategoricalDtype) for t in X.dtypes)
    dm = xgb.DMatrix(X, enable_categorical=categorical, missing=np.nan)
    margin = np.asarray(
        booster.predict(dm, output_margin=True, iteration_range=iteration_range), dtype="float64"
    )
    contribs = booster.predict(dm, pred_contribs=True, iteration_range=iteration_range)
    n = len(X)
    k = 1 if margin.ndim == 1 else margin.shape[1]
    values, base = _split_bias(contribs, n, k)
    space = "raw" if objective in _XGB_IDENTITY else "margin"
    return values, base, margin.reshape(n, k), space


def _lightgbm(native: Any, X: pd.DataFrame) -> Arrays:
    booster = native.booster_ if hasattr(native, "booster_") else native
    raw = np.asarray(booster.predict(X, raw_score=True), dtype="float64")
    contribs = np.asarray(booster.predict(X, pred_contrib=True))
    n = len(X)
    k = int(booster.num_model_per_iteration())
    values, base = _split_bias(contribs, n, k)
    objective = booster.params.get("objective", "regression")
    space = "raw" if not isinstance(objective, str) or objective in _LGB_IDENTITY else "margin"
    return values, base, raw.reshape(n, k), space


def _sklearn(model: ModelView, X: pd.DataFrame) -> Arrays:
    native = model.native
    name = type(native).__name__
    Xin = model.model_input(X)
    n = len(X)
    if name in _SK_PROBA:
        output = np.asarray(native.predict_proba(Xin), dtype="float64")
        space = "probability"
    elif name in _SK_MARGIN:
        output = np.asarray(native.decision_function(Xin), dtype="float64")
        space = "margin"
    else:
        output = np.asarray(native.predict(Xin), dtype="float64")
        space = "raw"
    output = output.reshape(n, -1)
    if name == "GradientBoostingClassifier" and output.shape[1] > 1:
        values, base = _gbc_multiclass(native, X, output)
    else:
        explainer = model.cache.get("shap_tree")
        if explainer is None:  # converting the trees costs tens of ms: once per view
            explainer = model.cache["shap_tree"] = _deps.shap().TreeExplainer(native)
        raw = np.asarray(explainer.shap_values(Xin, check_additivity=False), dtype="float64")
        values = raw if raw.ndim == 3 else raw[:, :, None]
        base = np.broadcast_to(
            np.asarray(explainer.expected_value, dtype="float64").reshape(1, -1),
            (n, values.shape[2]),
        )
    if space == "probability" and output.shape[1] == 2:
        # a binary classifier: class 0's attributions are class 1's negated; keep class 1's
        values, base, output = values[:, :, 1:], base[:, 1:], output[:, 1:]
    return values, np.asarray(base), output, space


def _gbc_multiclass(
    model: Any, X: pd.DataFrame, margin: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """TreeSHAP over each class's trees of a multiclass GradientBoostingClassifier.

    shap's documented custom-tree format takes the trees (values scaled by the learning
    rate) and the constant the model starts from, which is the margin minus the trees' sum.
    """
    shap = _deps.shap()
    Xa = X.to_numpy(dtype="float32")
    lr = float(model.learning_rate)
    n, k = margin.shape
    values = np.empty((n, X.shape[1], k))
    base = np.empty((n, k))
    for c in range(k):
        trees = []
        tree_sum = np.zeros(n)
        for est in model.estimators_[:, c]:
            t = est.tree_
            left, right = t.children_left, t.children_right
            go_left = getattr(t, "missing_go_to_left", None)
            default = left if go_left is None else np.where(go_left, left, right)
            trees.append(
                {
                    "children_left": left.copy(),
                    "children_right": right.copy(),
                    "children_default": np.asarray(default).copy(),
                    "features": t.feature.copy(),
                    "thresholds": t.threshold.copy(),
                    "values": t.value[:, :, 0] * lr,
                    "node_sample_weight": t.weighted_n_node_samples.copy(),
                }
            )
            tree_sum += est.predict(Xa) * lr
        offset = float(np.median(margin[:, c] - tree_sum))
        explainer = shap.TreeExplainer({"trees": trees, "base_offset": offset})
        values[:, :, c] = explainer.shap_values(Xa, check_additivity=False)
        base[:, c] = float(np.asarray(explainer.expected_value).reshape(-1)[0])
    return values, base


__all__ = ["TreeExplainer", "tree_kind"]
