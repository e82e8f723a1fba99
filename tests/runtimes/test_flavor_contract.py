"""One contract over every flavor: register -> load -> predict equals the original model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mainsail
from mainsail.runtimes import PythonModel, detect_flavor


def _data(task: str) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 5)), columns=[f"f{i}" for i in range(5)])
    if task == "classification":
        return X, (X["f0"] + 0.5 * X["f1"] > 0).astype(int).to_numpy()
    return X, (2 * X["f0"] - X["f2"]).to_numpy()


def sklearn_clf(X: pd.DataFrame, y: np.ndarray) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), HistGradientBoostingClassifier(max_iter=20)).fit(X, y)


def sklearn_reg(X: pd.DataFrame, y: np.ndarray) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge().fit(X, y)


def xgb_clf(X: pd.DataFrame, y: np.ndarray) -> Any:
    import xgboost as xgb

    return xgb.XGBClassifier(n_estimators=10, max_depth=3).fit(X, y)


def lgbm_reg(X: pd.DataFrame, y: np.ndarray) -> Any:
    import lightgbm as lgb

    return lgb.LGBMRegressor(n_estimators=10, verbose=-1).fit(X, y)


def lgbm_clf(X: pd.DataFrame, y: np.ndarray) -> Any:
    import lightgbm as lgb

    return lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(X, y)


def onnx_clf(X: pd.DataFrame, y: np.ndarray) -> Any:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    sk = LogisticRegression().fit(X.to_numpy(np.float32), y)
    return to_onnx(sk, X.to_numpy(np.float32)[:1], options={"zipmap": False})


class Doubler(PythonModel):
    def load_context(self, context):  # type: ignore[no-untyped-def]
        self.factor = 2.0

    def predict(self, context, model_input):  # type: ignore[no-untyped-def]
        return model_input["f0"].to_numpy() * self.factor


def pyfunc_model(X: pd.DataFrame, y: np.ndarray) -> Any:
    return Doubler()


CASES: list[tuple[str, str, Callable[..., Any]]] = [
    ("sklearn", "classification", sklearn_clf),
    ("sklearn", "regression", sklearn_reg),
    ("xgboost", "classification", xgb_clf),
    ("lightgbm", "regression", lgbm_reg),
    ("lightgbm", "classification", lgbm_clf),
    ("onnx", "classification", onnx_clf),
    ("pyfunc", "regression", pyfunc_model),
]


def _reference_predict(model: Any, flavor: str, X: pd.DataFrame) -> np.ndarray:
    if flavor == "onnx":
        import onnxruntime as ort

        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return sess.run(None, {sess.get_inputs()[0].name: X.to_numpy(np.float32)})[0]
    if flavor == "pyfunc":
        return model.predict(None, X) if hasattr(model, "factor") else X["f0"].to_numpy() * 2.0
    return np.asarray(model.predict(X))


@pytest.mark.parametrize(("flavor", "task", "make"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_register_load_predict_exactly(ctx, flavor: str, task: str, make) -> None:  # type: ignore[no-untyped-def]
    X, y = _data(task)
    model = make(X, y)
    assert detect_flavor(model) == flavor
    mv = mainsail.register_model(
        model,
        name=f"m-{flavor}",
        input_example=X.head(),
        reference=X,
        allow_pickle=flavor == "pyfunc",
    )
    assert mv.flavor == flavor
    assert set(mv.files) >= {"mainsail-model.json", "input_example.parquet"}
    assert mv.allow_pickle is (flavor == "pyfunc")
    loaded = mainsail.load_model(mv.address)
    np.testing.assert_array_equal(loaded.predict(X), _reference_predict(model, flavor, X))
    if flavor in ("sklearn", "xgboost", "lightgbm") and task == "classification":
        assert mv.task == "classification" and mv.classes == [0, 1]
        np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=1e-6)
    # Column order and extra columns do not matter; loading twice uses the verified cache.
    shuffled = X[X.columns[::-1]].assign(extra=1)
    np.testing.assert_array_equal(
        mainsail.load_model(mv.address).predict(shuffled), loaded.predict(X)
    )
    loaded.unload()
