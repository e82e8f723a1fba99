"""LIME: the planted feature first, in the sign of the exact method; its gap reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from mainsail.explanations import explain

pytest.importorskip("lime")


def test_agrees_with_exact_tree_shap_on_the_planted_feature(
    planted: tuple[pd.DataFrame, pd.Series], clear_rows: pd.DataFrame
) -> None:
    X, y = planted
    model = RandomForestClassifier(20, max_depth=4, random_state=0).fit(X, y)
    lime = explain(None, model, clear_rows, method="lime", background=X, n_samples=500)
    exact = explain(None, model, clear_rows, method="tree")
    assert lime.output_space == exact.output_space == "probability"
    assert lime.global_importance().index[0] == exact.global_importance().index[0] == "x0"
    assert (np.sign(lime.values[:, 0]) == np.sign(exact.values[:, 0])).all()
    assert (np.abs(lime.values).argmax(axis=1) == 0).all()  # first in every row
    assert np.isfinite(lime.additivity_error) and lime.additivity_error > 0  # reported
    again = explain(None, model, clear_rows, method="lime", background=X, n_samples=500)
    assert np.array_equal(again.values, lime.values)


def test_multiclass_and_regression(planted: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = planted
    y3 = np.digitize(X["x0"], [-0.5, 0.5])
    clf = RandomForestClassifier(10, max_depth=4, random_state=0).fit(X, y3)
    e = explain(None, clf, X.head(3), method="lime", background=X, n_samples=300)
    assert e.outputs == ["0", "1", "2"] and e.values.shape == (3, 5, 3)
    reg = RandomForestRegressor(10, max_depth=4, random_state=0).fit(X, 3 * X["x0"])
    e = explain(None, reg, X.head(3), method="lime", background=X, n_samples=300)
    assert e.output_space == "raw" and e.global_importance().index[0] == "x0"
