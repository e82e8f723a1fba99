"""Exact TreeSHAP per flavor: additivity with the model's own output, agreement with shap."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from mainsail.explanations import TreeExplainer, explain, model_view

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

with warnings.catch_warnings():  # shap's import touches deprecated matplotlib APIs
    warnings.simplefilter("ignore")
    import shap

#: XGBoost predicts in float32: its attributions add up to its own output within float32
#: rounding (a few units in the last place of the margin), not float64's.
F32 = 8 * float(np.finfo(np.float32).eps)

Case = tuple[str, Callable[[], Any], str, bool, str]
# name, estimator factory, target, takes missing values, expected output space
CASES: list[Case] = [
    (
        "dt",
        lambda: DecisionTreeClassifier(max_depth=4, random_state=0),
        "binary",
        True,
        "probability",
    ),
    (
        "dt3",
        lambda: DecisionTreeClassifier(max_depth=4, random_state=0),
        "multiclass",
        True,
        "probability",
    ),
    ("dtr", lambda: DecisionTreeRegressor(max_depth=4, random_state=0), "regression", True, "raw"),
    (
        "rf",
        lambda: RandomForestClassifier(8, max_depth=4, random_state=0),
        "binary",
        True,
        "probability",
    ),
    (
        "rf3",
        lambda: RandomForestClassifier(8, max_depth=4, random_state=0),
        "multiclass",
        True,
        "probability",
    ),
    (
        "rfr",
        lambda: RandomForestRegressor(8, max_depth=4, random_state=0),
        "regression",
        True,
        "raw",
    ),
    (
        "et",
        lambda: ExtraTreesClassifier(8, max_depth=4, random_state=0),
        "binary",
        True,
        "probability",
    ),
    ("etr", lambda: ExtraTreesRegressor(8, max_depth=4, random_state=0), "regression", True, "raw"),
    (
        "gbc",
        lambda: GradientBoostingClassifier(n_estimators=15, random_state=0),
        "binary",
        False,
        "margin",
    ),
    (
        "gbc3",
        lambda: GradientBoostingClassifier(n_estimators=15, random_state=0),
        "multiclass",
        False,
        "margin",
    ),
    (
        "gbr",
        lambda: GradientBoostingRegressor(n_estimators=15, random_state=0),
        "regression",
        False,
        "raw",
    ),
    ("hgb", lambda: HistGradientBoostingClassifier(max_iter=15), "binary", True, "margin"),
    ("hgb3", lambda: HistGradientBoostingClassifier(max_iter=15), "multiclass", True, "margin"),
    ("hgbr", lambda: HistGradientBoostingRegressor(max_iter=15), "regression", True, "raw"),
    (
        "xgb",
        lambda: xgb.XGBClassifier(n_estimators=15, max_depth=3, n_jobs=1),
        "binary",
        True,
        "margin",
    ),
    (
        "xgb3",
        lambda: xgb.XGBClassifier(n_estimators=15, max_depth=3, n_jobs=1),
        "multiclass",
        True,
        "margin",
    ),
    (
        "xgbr",
        lambda: xgb.XGBRegressor(n_estimators=15, max_depth=3, n_jobs=1),
        "regression",
        True,
        "raw",
    ),
    (
        "lgb",
        lambda: lgb.LGBMClassifier(n_estimators=15, verbose=-1, n_jobs=1),
        "binary",
        True,
        "margin",
    ),
    (
        "lgb3",
        lambda: lgb.LGBMClassifier(n_estimators=15, verbose=-1, n_jobs=1),
        "multiclass",
        True,
        "margin",
    ),
    (
        "lgbr",
        lambda: lgb.LGBMRegressor(n_estimators=15, verbose=-1, n_jobs=1),
        "regression",
        True,
        "raw",
    ),
]


_FITTED: dict[str, tuple[Any, pd.DataFrame]] = {}


def _fit(case: Case, data: dict[str, Any], complete: pd.DataFrame) -> tuple[Any, pd.DataFrame]:
    """The case's model, fitted once for the module's tests (they only read it)."""
    if case[0] not in _FITTED:
        _, factory, target, nan_ok, _ = case
        X = data["X"] if nan_ok else complete
        _FITTED[case[0]] = (factory().fit(X, data[target]), X)
    return _FITTED[case[0]]


def _own_output(model: Any, X: pd.DataFrame, space: str) -> np.ndarray:
    """The model's output in ``space``, straight from the model's API."""
    if hasattr(model, "get_booster"):
        out = model.get_booster().predict(xgb.DMatrix(X), output_margin=True)
    elif hasattr(model, "booster_"):
        out = model.booster_.predict(X, raw_score=True)
    elif space == "probability":
        out = model.predict_proba(X)
        out = out[:, 1] if out.shape[1] == 2 else out
    elif space == "margin":
        out = model.decision_function(X)
    else:
        out = model.predict(X)
    return np.asarray(out, dtype="float64")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_attributions_add_up_to_the_models_output(
    case: Case, data: dict[str, Any], complete: pd.DataFrame
) -> None:
    model, X = _fit(case, data, complete)
    rows = X.head(40)  # with missing values in column b for models that take them
    e = explain(None, model, rows)
    assert e.method == "tree" and e.exact and e.output_space == case[4]
    assert e.background_rows is None  # path-dependent TreeSHAP: no background
    own = _own_output(model, rows, case[4])
    assert np.allclose(e.output, own, rtol=0, atol=1e-12)
    tol = (
        F32 * max(1.0, float(np.abs(e._values).sum(axis=1).max()))
        if case[0].startswith("xgb")
        else 1e-6
    )
    assert e.additivity_error <= tol, (case[0], e.additivity_error)
    n_classes = int(data[case[2]].nunique()) if case[2] != "regression" else 1
    expected_outputs = n_classes if n_classes > 2 else 1
    assert e.n_outputs == expected_outputs
    assert e.values.shape[:2] == (40, 4)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c[0] != "gbc3"], ids=[c[0] for c in CASES if c[0] != "gbc3"]
)
def test_agrees_with_shap_within_1e_6(
    case: Case, data: dict[str, Any], complete: pd.DataFrame
) -> None:
    model, X = _fit(case, data, complete)
    rows = X.head(25)
    e = explain(None, model, rows, method="tree")
    theirs_exp = shap.TreeExplainer(model)(rows, check_additivity=False)
    theirs = np.asarray(theirs_exp.values, dtype="float64")
    base = np.asarray(theirs_exp.base_values, dtype="float64")[0].reshape(-1)
    if theirs.ndim == 3 and case[4] == "probability" and theirs.shape[2] == 2:
        theirs, base = theirs[:, :, 1], base[1:]  # the positive class
    assert np.abs(e.values - theirs).max() <= 1e-6
    assert np.abs(e.base_values - (base if base.size > 1 else base[0])).max() <= 1e-6


def test_multiclass_gradient_boosting_which_shap_refuses(
    data: dict[str, Any], complete: pd.DataFrame
) -> None:
    model = GradientBoostingClassifier(n_estimators=15, random_state=0).fit(
        complete, data["multiclass"]
    )
    with pytest.raises(Exception, match="only supported for binary"):
        shap.TreeExplainer(model)
    e = explain(None, model, complete.head(30))
    assert e.method == "tree" and e.outputs == ["0", "1", "2"]
    assert e.additivity_error < 1e-9
    # the same algorithm as a sum of per-tree explanations, tree by tree through shap
    lr = model.learning_rate
    x = complete.head(30).to_numpy(dtype="float32")
    for k in range(3):
        per_tree = sum(
            lr * shap.TreeExplainer(est).shap_values(x) for est in model.estimators_[:, k]
        )
        assert np.abs(e.values[:, :, k] - per_tree).max() <= 1e-6


def test_models_fitted_on_arrays_and_native_boosters(data: dict[str, Any]) -> None:
    X = data["X"]
    arr = X.to_numpy()
    hgb = HistGradientBoostingClassifier(max_iter=10).fit(arr, data["binary"])
    e = explain(None, hgb, arr[:10])
    assert e.feature_names == ["f0", "f1", "f2", "f3"] and e.additivity_error < 1e-9
    booster = xgb.train({"max_depth": 3}, xgb.DMatrix(X, label=data["regression"]), 10)
    e = explain(None, booster, X.head(10))
    assert e.output_space == "raw" and e.additivity_error < 1e-5
    lgb_booster = lgb.train(
        {"objective": "binary", "verbose": -1}, lgb.Dataset(X, label=data["binary"]), 10
    )
    e = explain(None, lgb_booster, X.head(10))
    assert e.output_space == "margin" and e.additivity_error < 1e-9


def test_link_losses_and_native_categories_go_to_the_fallback(
    data: dict[str, Any], complete: pd.DataFrame
) -> None:
    y = np.exp(data["regression"] / 4)
    poisson = HistGradientBoostingRegressor(loss="poisson", max_iter=10).fit(complete, y)
    assert not TreeExplainer().supports(model_view(None, poisson))
    frame = complete.assign(plan=pd.Categorical(np.where(complete["a"] > 0, "pro", "free")))
    categorical = HistGradientBoostingClassifier(max_iter=10, categorical_features="from_dtype")
    categorical.fit(frame, data["binary"])
    view = model_view(None, categorical)
    assert not TreeExplainer().supports(view)
    e = explain(None, categorical, frame.head(3), background=frame, n_permutations=3)
    assert e.method == "permutation" and e.output_space == "probability"
    assert e.additivity_error < 1e-9


def test_early_stopped_xgboost_explains_the_iterations_it_predicts_with(
    data: dict[str, Any],
) -> None:
    X, y = data["X"], data["binary"]
    model = xgb.XGBClassifier(n_estimators=200, early_stopping_rounds=3, n_jobs=1)
    model.fit(X.iloc[:200], y.iloc[:200], eval_set=[(X.iloc[200:], y.iloc[200:])], verbose=False)
    assert model.best_iteration < 199
    e = explain(None, model, X.head(20))
    margin = model.predict(X.head(20), output_margin=True)
    assert np.allclose(e.output, margin, atol=1e-12)
    assert e.additivity_error <= F32 * 10
