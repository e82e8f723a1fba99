"""One contract over every registered flavor: register -> load -> predict equals the model.

Parametrised over the registry itself, so a flavor registered without a case here fails
(``test_every_flavor_has_a_contract_case``), plus the third-party flavor of
``tests/thirdparty/acme_flavors.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mainsail
from mainsail.runtimes import PythonModel, check_runtime, detect_flavor, flavors, get_runtime_class

from .conftest import ACME


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


def acme_linear(X: pd.DataFrame, y: np.ndarray) -> Any:
    from acme_flavors import LinearCoefficients  # on the path while `acme` is active

    return LinearCoefficients.fit(X, y)


# flavor -> (task, how to make a fitted model of that flavor)
CASES: dict[str, list[tuple[str, Callable[..., Any]]]] = {
    "sklearn": [("classification", sklearn_clf), ("regression", sklearn_reg)],
    "xgboost": [("classification", xgb_clf)],
    "lightgbm": [("regression", lgbm_reg), ("classification", lgbm_clf)],
    "onnx": [("classification", onnx_clf)],
    "pyfunc": [("regression", pyfunc_model)],
    ACME: [("regression", acme_linear)],
}
REGISTERED = sorted(set(flavors()) | {ACME})  # what the registry holds, and the third party


def _reference_predict(model: Any, flavor: str, X: pd.DataFrame) -> np.ndarray:
    if flavor == "onnx":
        import onnxruntime as ort

        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return sess.run(None, {sess.get_inputs()[0].name: X.to_numpy(np.float32)})[0]
    if flavor == "pyfunc":
        return model.predict(None, X) if hasattr(model, "factor") else X["f0"].to_numpy() * 2.0
    return np.asarray(model.predict(X))


@pytest.mark.parametrize("flavor", REGISTERED)
def test_every_flavor_has_a_contract_case(flavor: str) -> None:
    assert flavor in CASES, f"add a case for the registered flavor {flavor!r} to CASES"


@pytest.mark.parametrize("flavor", REGISTERED)
def test_every_flavor_passes_check_runtime(flavor: str, acme: ModuleType) -> None:
    cls = get_runtime_class(flavor)  # the registry runs check_runtime when it loads one
    assert check_runtime(cls, flavor) is cls


@pytest.mark.parametrize(
    ("flavor", "task", "make"),
    [(f, task, make) for f in REGISTERED for task, make in CASES.get(f, [])],
    ids=[f"{f}-{task}" for f in REGISTERED for task, _ in CASES.get(f, [])],
)
def test_register_load_predict_exactly(ctx, acme, flavor: str, task: str, make) -> None:  # type: ignore[no-untyped-def]
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
