"""Models as explainers see them: native estimators, registry models, addresses; bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from mainsail.core._errors import (
    InvalidValueError,
    SignatureMismatchError,
    UnsupportedModelError,
)
from mainsail.explanations import BackgroundRequiredError, explain, model_view, sample_rows
from mainsail.registry import load_model, register_model
from mainsail.runtimes import PythonModel

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")


class Scaled(PythonModel):
    """A python-function model: 3 * x0 - x1."""

    def predict(self, context: Any, model_input: pd.DataFrame) -> Any:
        return 3.0 * model_input["x0"].to_numpy() - model_input["x1"].to_numpy()


def test_native_views_know_flavor_names_task_and_classes(
    planted: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = planted
    view = model_view(None, xgb.XGBClassifier(n_estimators=3).fit(X, y))
    assert (view.flavor, view.task, view.classes) == ("xgboost", "classification", [0, 1])
    assert view.feature_names == list(X.columns)
    lgb_view = model_view(None, lgb.LGBMRegressor(n_estimators=3, verbose=-1).fit(X, y))
    assert lgb_view.flavor == "lightgbm" and lgb_view.task == "regression"
    unnamed = model_view(None, LogisticRegression().fit(X.to_numpy(), y))
    assert unnamed.feature_names == [] and unnamed.unnamed


def test_wrong_columns_and_shapes_are_refused_like_predict(
    planted: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = planted
    model = RandomForestClassifier(5, max_depth=3, random_state=0).fit(X, y)
    with pytest.raises(SignatureMismatchError, match="Missing input column.*x3.*Expected columns"):
        explain(None, model, X.drop(columns="x3"))
    with pytest.raises(SignatureMismatchError, match=r"5 columns \(x0, x1.*shape \(2, 3\)"):
        explain(None, model, np.zeros((2, 3)))
    with pytest.raises(InvalidValueError, match="at least one row in X"):
        explain(None, model, X.head(0))
    # extra columns are dropped and the order restored, as predict does
    shuffled = X.head(4)[X.columns[::-1]].assign(extra=1.0)
    e = explain(None, model, shuffled)
    assert e.feature_names == list(X.columns)
    assert np.allclose(e.values, explain(None, model, X.head(4)).values)
    # a model fitted on an array: the column count is the contract
    arr_model = LogisticRegression().fit(X.to_numpy(), y)
    with pytest.raises(SignatureMismatchError, match="Expected a table with 5 columns"):
        explain(None, arr_model, np.zeros((1, 4)), background=X.to_numpy())


def test_objects_that_cannot_be_explained_say_what_can(
    planted: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = planted
    with pytest.raises(UnsupportedModelError, match="no predict method"):
        explain(None, object(), X)
    with pytest.raises(UnsupportedModelError, match="register it and pass its address"):
        explain(None, Scaled(), X, background=X)
    with pytest.raises(InvalidValueError, match="needs a context"):
        explain(None, "models:/churn/1", X)
    labels_only = SVC().fit(X, y)  # no predict_proba: its labels have no scale
    with pytest.raises(UnsupportedModelError, match="No explainer supports SVC"):
        explain(None, labels_only, X.head(2), background=X)


def test_registry_models_by_address_match_the_native_model(
    ctx: Any, planted: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = planted
    models = {
        "xgb": xgb.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1).fit(X, y),
        "lgb": lgb.LGBMClassifier(n_estimators=10, verbose=-1, n_jobs=1).fit(X, y),
        "rf": RandomForestClassifier(10, max_depth=4, random_state=0).fit(X, y),
    }
    for name, model in models.items():
        mv = register_model(ctx, model, name=name, input_example=X.head(), reference=X)
        by_address = explain(ctx, f"models:/{name}/{mv.version}", X.head(8))
        native = explain(None, model, X.head(8))
        assert by_address.method == native.method == "tree"
        assert by_address.output_space == native.output_space
        assert by_address.model == mv.address
        assert np.allclose(by_address.values, native.values, atol=1e-9), name
        assert by_address.additivity_error < 1e-5
        loaded = explain(None, load_model(ctx, mv.address), X.head(8))  # a loaded model too
        assert np.allclose(loaded.values, native.values, atol=1e-9)


def test_registry_input_errors_are_the_ones_predict_gives(
    ctx: Any, planted: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = planted
    model = RandomForestClassifier(5, max_depth=3, random_state=0).fit(X, y)
    register_model(ctx, model, name="rf", input_example=X.head(), reference=X)
    loaded = load_model(ctx, "models:/rf/1")
    for bad in (X.drop(columns="x1").head(3), X.head(3).assign(x2="forty"), np.zeros((2, 3))):
        with pytest.raises(SignatureMismatchError) as predicted:
            loaded.predict(bad)
        with pytest.raises(SignatureMismatchError) as explained:
            explain(ctx, "models:/rf/1", bad)
        assert str(explained.value) == str(predicted.value)
    with_nan = X.head(3).copy()
    with_nan.loc[1, "x0"] = np.nan  # trained without missing values: refused, as predict does
    with pytest.raises(SignatureMismatchError, match="'x0' has missing values"):
        explain(ctx, "models:/rf/1", with_nan)


def test_registry_linear_model_measures_against_its_reference_means(
    ctx: Any, planted: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = planted
    model = LogisticRegression().fit(X, y)
    register_model(ctx, model, name="lr", input_example=X.head(), reference=X)
    e = explain(ctx, "models:/lr/1", X.head(5))  # no background=: the profile's means
    assert e.method == "linear" and e.background_rows == len(X)
    assert np.allclose(e.values, explain(None, model, X.head(5), background=X).values, atol=1e-9)
    register_model(ctx, model, name="lr-small", input_example=X.head())  # no reference
    with pytest.raises(BackgroundRequiredError, match="register the model with reference="):
        explain(ctx, "models:/lr-small/1", X.head(5))


def test_onnx_and_pyfunc_models_go_through_the_fallback(
    ctx: Any, planted: tuple[pd.DataFrame, pd.Series]
) -> None:
    skl2onnx = pytest.importorskip("skl2onnx")
    X, y = planted
    lr = LogisticRegression().fit(X.to_numpy(np.float32), y)
    onnx_model = skl2onnx.to_onnx(lr, X.to_numpy(np.float32)[:1], options={"zipmap": False})
    register_model(ctx, onnx_model, name="onnx", input_example=X.head())  # no reference
    with pytest.raises(BackgroundRequiredError, match="registered without reference=") as err:
        explain(ctx, "models:/onnx/1", X.head(3))
    assert "Pass background=" in str(err.value) and "register the next version" in str(err.value)
    register_model(ctx, onnx_model, name="onnx", input_example=X.head(), reference=X)
    kept = explain(ctx, "models:/onnx/2", X.head(4), n_permutations=3)  # the kept sample
    assert kept.method == "permutation" and kept.background_rows == 100
    assert kept.global_importance().index[0] == "x0"
    e = explain(ctx, "models:/onnx/1", X.head(4), background=X, n_permutations=3)
    assert e.method == "permutation" and e.output_space == "probability"
    assert e.additivity_error < 1e-6
    assert e.global_importance().index[0] == "x0"
    register_model(ctx, Scaled(), name="py", input_example=X.head(), allow_pickle=True)
    e = explain(ctx, "models:/py/1", X.head(4), background=X)
    assert e.method == "permutation" and e.output_space == "raw"
    # the model is additive, so every order gives its exact Shapley values against the
    # background sample the method drew
    bg = sample_rows(X, 100, seed=0)
    rows = X.head(4)
    expected = np.zeros((4, 5))
    expected[:, 0] = 3.0 * (rows["x0"] - bg["x0"].mean())
    expected[:, 1] = -(rows["x1"] - bg["x1"].mean())
    assert e.background_rows == 100
    assert np.allclose(e.values, expected, atol=1e-9)
