"""Model-agnostic sampling methods: exact where the sampling covers everything, else close."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeRegressor

from mainsail.core._errors import InvalidValueError
from mainsail.explanations import BackgroundRequiredError, explain, sample_rows

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import shap


def _interventional(model: Any, X: pd.DataFrame, background: pd.DataFrame) -> np.ndarray:
    """Exact interventional Shapley values of a tree against ``background`` (shap)."""
    ref = shap.TreeExplainer(model, data=background, feature_perturbation="interventional")
    return np.asarray(ref.shap_values(X, check_additivity=False))


@pytest.fixture(scope="module")
def regression() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    y = np.where(X["a"] > 0, 2.0, -1.0) * (1 + (X["b"] > 0.5)) + 0.3 * X["c"]
    return X, pd.Series(y)


def test_permutation_is_exact_when_one_pair_covers_every_order(
    regression: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = regression
    two = X[["a", "b"]]
    model = DecisionTreeRegressor(max_depth=4, random_state=0).fit(two, y)
    e = explain(None, model, two.head(10), method="permutation", background=two, n_permutations=1)
    assert e.method == "permutation" and not e.exact and e.output_space == "raw"
    exact = _interventional(model, two.head(10), sample_rows(two, 100, seed=0))
    assert np.abs(e.values - exact).max() < 1e-6  # shap's tree code sums in float32
    assert e.additivity_error < 1e-9


def test_one_feature_takes_the_whole_step(regression: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = regression
    one = X[["a"]]
    model = DecisionTreeRegressor(max_depth=3, random_state=0).fit(one, y)
    e = explain(None, model, one.head(4), method="permutation", background=one)
    assert np.allclose(e.values[:, 0], e.output - e.base_values)
    assert np.allclose(e.base_values, model.predict(sample_rows(one, 100, seed=0)).mean())


def test_permutation_converges_and_is_deterministic(
    regression: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = regression
    model = DecisionTreeRegressor(max_depth=5, random_state=0).fit(X, y)
    rows = X.head(6)
    exact = _interventional(model, rows, sample_rows(X, 100, seed=0))
    few = explain(None, model, rows, method="permutation", background=X, n_permutations=1)
    many = explain(None, model, rows, method="permutation", background=X, n_permutations=40)
    assert np.abs(many.values - exact).max() < 0.1 * np.abs(exact).max()
    assert np.abs(many.values - exact).mean() < np.abs(few.values - exact).mean()
    assert many.additivity_error < 1e-9 and few.additivity_error < 1e-9
    again = explain(None, model, rows, method="permutation", background=X, n_permutations=40)
    assert np.array_equal(again.values, many.values)
    other = explain(None, model, rows, method="permutation", background=X, seed=1)
    assert not np.array_equal(other.values, many.values)


def test_kernel_enumerating_every_coalition_is_exact(
    regression: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = regression
    model = DecisionTreeRegressor(max_depth=5, random_state=0).fit(X, y)
    rows = X.head(5)
    e = explain(None, model, rows, method="kernel", background=X, n_samples=64)
    assert e.method == "kernel" and e.background_rows == 50
    exact = _interventional(model, rows, sample_rows(X, 50, seed=0))
    assert np.abs(e.values - exact).max() < 1e-6
    assert e.additivity_error < 1e-6


def test_fallbacks_need_background_and_say_what_to_pass(
    regression: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = regression
    model = DecisionTreeRegressor(max_depth=3).fit(X, y)
    for method, rows in (("permutation", 100), ("kernel", 50), ("lime", 100)):
        with pytest.raises(BackgroundRequiredError, match=f"Pass background=.*up to {rows} rows"):
            explain(None, model, X.head(2), method=method)
    with pytest.raises(InvalidValueError, match="n_permutations must be a positive integer"):
        explain(None, model, X.head(2), method="permutation", background=X, n_permutations=0)


def test_the_model_decides_about_missing_values(regression: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = regression
    model = LogisticRegression().fit(X, y > 0)
    rows = X.head(3).copy()
    rows.loc[0, "b"] = np.nan
    with pytest.raises(InvalidValueError, match="could not score the rows.*NaN"):
        explain(None, model, rows, method="permutation", background=X)


def test_string_columns_are_coded_and_decoded_for_the_model() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "plan": rng.choice(["free", "pro", "team"], 300),
            "noise": rng.normal(size=300),
            "age": rng.integers(18, 80, 300),
        }
    )
    y = (X["plan"] == "pro").astype(int)
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["plan"]), remainder="passthrough"),
        LogisticRegression(max_iter=500),
    ).fit(X, y)
    e = explain(None, model, X.head(5), background=X, n_permutations=3)
    assert e.method == "permutation" and e.global_importance().index[0] == "plan"
    pro = (X["plan"].head(5) == "pro").to_numpy()
    assert (np.sign(e.values[:, 0]) == np.where(pro, 1, -1)).all()
