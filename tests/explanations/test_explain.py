"""explain() and global_importance(): method choice, options, the planted feature."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from mainsail.core._errors import InvalidValueError, UnsupportedModelError
from mainsail.explanations import auto_order, explain, global_importance

xgb = pytest.importorskip("xgboost")

#: Each built-in method, the model it explains on the planted data, and its options.
METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "tree": ("forest", {}),
    "linear": ("logistic", {}),
    "permutation": ("forest", {"n_permutations": 4}),
    "kernel": ("forest", {"n_samples": 200}),
    "lime": ("forest", {"n_samples": 400}),
}


@pytest.fixture(scope="module")
def models(planted: tuple[pd.DataFrame, pd.Series]) -> dict[str, Any]:
    X, y = planted
    return {
        "forest": RandomForestClassifier(20, max_depth=4, random_state=0).fit(X, y),
        "logistic": LogisticRegression().fit(X, y),
        "knn": KNeighborsClassifier().fit(X, y),
    }


def test_auto_tries_exact_tree_then_linear_then_permutation(
    planted: tuple[pd.DataFrame, pd.Series], models: dict[str, Any]
) -> None:
    X, _ = planted
    assert auto_order() == ["tree", "linear", "permutation"]
    assert explain(None, models["forest"], X.head(3)).method == "tree"
    assert explain(None, models["logistic"], X.head(3), background=X).method == "linear"
    e = explain(None, models["knn"], X.head(3), background=X, n_permutations=2)
    assert e.method == "permutation" and e.output_space == "probability"


def test_unknown_and_unsuitable_methods_list_the_valid_ones(
    planted: tuple[pd.DataFrame, pd.Series], models: dict[str, Any]
) -> None:
    X, _ = planted
    with pytest.raises(
        InvalidValueError,
        match="Unknown explanation method 'shapley'. Valid methods are: auto, kernel, lime, linear, permutation, tree",
    ):
        explain(None, models["forest"], X.head(2), method="shapley")
    with pytest.raises(
        UnsupportedModelError,
        match="'linear' explainer does not support RandomForestClassifier.*one of: kernel, lime, permutation, tree",
    ):
        explain(None, models["forest"], X.head(2), method="linear", background=X)
    with pytest.raises(
        InvalidValueError,
        match="Unknown option.*max_evals.*Valid options are: n_permutations, max_background, seed",
    ):
        explain(None, models["knn"], X.head(2), method="permutation", background=X, max_evals=9)
    with pytest.raises(
        InvalidValueError, match="Unknown option.*for the 'tree' explainer: n_samples"
    ):
        explain(None, models["forest"], X.head(2), n_samples=9)
    with pytest.raises(InvalidValueError, match="Expected method to be a name"):
        explain(None, models["forest"], X.head(2), method=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", sorted(METHODS))
def test_the_planted_feature_ranks_first_for_every_method(
    method: str,
    planted: tuple[pd.DataFrame, pd.Series],
    clear_rows: pd.DataFrame,
    models: dict[str, Any],
) -> None:
    X, _ = planted
    model_name, options = METHODS[method]
    e = explain(None, models[model_name], clear_rows, method=method, background=X, **options)
    assert e.global_importance().index[0] == "x0"
    assert (np.sign(e.values[:, 0]) == np.sign(clear_rows["x0"])).all()  # x0 > 0 raises p(1)
    if e.exact:
        assert e.additivity_error < 1e-6


@pytest.mark.parametrize("method", ["kernel", "lime"])
def test_kernel_and_lime_agree_with_exact_in_sign_and_rank(
    method: str,
    planted: tuple[pd.DataFrame, pd.Series],
    clear_rows: pd.DataFrame,
    models: dict[str, Any],
) -> None:
    X, _ = planted
    exact = explain(None, models["forest"], clear_rows, method="tree")
    approx = explain(
        None, models["forest"], clear_rows, method=method, background=X, **METHODS[method][1]
    )
    assert approx.output_space == exact.output_space
    top_exact = np.abs(exact.values).argmax(axis=1)
    top_approx = np.abs(approx.values).argmax(axis=1)
    assert (top_exact == top_approx).all()
    rows = np.arange(len(clear_rows))
    assert (
        np.sign(approx.values[rows, top_approx]) == np.sign(exact.values[rows, top_exact])
    ).all()


def test_global_importance_is_bounded_deterministic_and_described(
    planted: tuple[pd.DataFrame, pd.Series], models: dict[str, Any]
) -> None:
    X, y = planted
    imp = global_importance(None, models["forest"], X, max_rows=50)
    assert imp.index[0] == "x0" and imp.attrs == {
        "method": "tree",
        "output_space": "probability",
        "rows": 50,
        "exact": True,
    }
    assert imp.equals(global_importance(None, models["forest"], X, max_rows=50))
    full = global_importance(None, models["forest"], X, max_rows=10_000)
    assert full.attrs["rows"] == len(X)
    # X is the background of methods that need one
    knn = global_importance(None, models["knn"], X, max_rows=20, n_permutations=2)
    assert knn.attrs["method"] == "permutation" and knn.index[0] == "x0"
    booster = xgb.XGBClassifier(n_estimators=10, n_jobs=1).fit(X, np.digitize(X["x0"], [0, 1]))
    multi = global_importance(None, booster, X)
    assert multi.attrs["output_space"] == "margin" and multi.index[0] == "x0"
