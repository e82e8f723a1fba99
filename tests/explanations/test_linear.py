"""Closed-form linear attributions: exact, in margin/raw space, against the background mean."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
    SGDClassifier,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, QuantileTransformer, StandardScaler
from sklearn.svm import LinearSVC

from mainsail.core._errors import InvalidValueError
from mainsail.explanations import BackgroundRequiredError, LinearExplainer, explain, model_view

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import shap


LINEAR = [
    ("logistic", lambda: LogisticRegression(), "binary", "margin", 1),
    ("logistic3", lambda: LogisticRegression(), "multiclass", "margin", 3),
    ("sgd", lambda: SGDClassifier(random_state=0), "binary", "margin", 1),
    ("linear_svc", lambda: LinearSVC(), "binary", "margin", 1),
    ("ols", lambda: LinearRegression(), "regression", "raw", 1),
    ("ridge", lambda: Ridge(alpha=2.0), "regression", "raw", 1),
    (
        "scaled",
        lambda: make_pipeline(StandardScaler(), LogisticRegression()),
        "binary",
        "margin",
        1,
    ),
    (
        "quantile",
        lambda: make_pipeline(QuantileTransformer(n_quantiles=50), Ridge()),
        "regression",
        "raw",
        1,
    ),
]


@pytest.mark.parametrize("case", LINEAR, ids=[c[0] for c in LINEAR])
def test_exact_and_in_the_stated_space(
    case: Any, data: dict[str, Any], complete: pd.DataFrame
) -> None:
    _, factory, target, space, k = case
    model = factory().fit(complete, data[target])
    e = explain(None, model, complete.head(30), background=complete)
    assert e.method == "linear" and e.exact and e.output_space == space and e.n_outputs == k
    assert e.additivity_error < 1e-9
    own = (
        model.decision_function(complete.head(30))
        if space == "margin"
        else model.predict(complete.head(30))
    )
    assert np.allclose(e.output, own, atol=1e-12)
    assert e.background_rows == len(complete)


def test_closed_form_is_coef_times_distance_to_the_background_mean(
    data: dict[str, Any], complete: pd.DataFrame
) -> None:
    model = LogisticRegression().fit(complete, data["binary"])
    background = complete.iloc[200:]  # 100 rows: shap samples larger backgrounds down to 100
    e = explain(None, model, complete.head(5), background=background)
    expected = model.coef_[0] * (complete.head(5).to_numpy() - background.to_numpy().mean(axis=0))
    assert np.allclose(e.values, expected, atol=1e-12)
    theirs = shap.LinearExplainer(model, background.to_numpy())(complete.head(5).to_numpy())
    assert np.abs(e.values - theirs.values).max() < 1e-6
    assert np.abs(e.base_values - theirs.base_values).max() < 1e-6


def test_imputing_pipeline_explains_missing_values(data: dict[str, Any]) -> None:
    X = data["X"]  # column b has missing values
    model = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression())
    model.fit(X, data["binary"])
    e = explain(None, model, X.head(20), background=X)
    assert e.method == "linear" and e.additivity_error < 1e-9
    assert np.isfinite(e.values).all()


def test_missing_values_the_model_does_not_take_are_refused(
    data: dict[str, Any], complete: pd.DataFrame
) -> None:
    model = LogisticRegression().fit(complete, data["binary"])
    with pytest.raises(InvalidValueError, match="missing values in column 'b'"):
        explain(None, model, data["X"].head(20), background=complete)


def test_without_background_it_says_what_to_pass(
    data: dict[str, Any], complete: pd.DataFrame
) -> None:
    model = Ridge().fit(complete, data["regression"])
    with pytest.raises(BackgroundRequiredError, match="Pass background="):
        explain(None, model, complete.head(3))


def test_non_linear_models_and_pipelines_are_not_claimed(
    data: dict[str, Any], complete: pd.DataFrame
) -> None:
    explainer = LinearExplainer()
    poly = make_pipeline(PolynomialFeatures(2), LogisticRegression(max_iter=500))
    poly.fit(complete, data["binary"])
    glm = PoissonRegressor().fit(complete, np.exp(data["regression"] / 4))
    assert not explainer.supports(model_view(None, poly))
    assert not explainer.supports(model_view(None, glm))
    e = explain(None, poly, complete.head(3), background=complete, n_permutations=2)
    assert e.method == "permutation" and e.output_space == "probability"
