"""One model call for predictions and probabilities, only where predict is their argmax."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def _data(n: int = 400) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    y = np.where(X.a + 0.5 * X.b + rng.normal(scale=0.5, size=n) > 0, 10, 2)  # numeric labels
    return X, y


def _runtime(model: object, tmp_path: Path):  # type: ignore[no-untyped-def]
    from mainsail.runtimes._sklearn import SklearnRuntime

    meta = SklearnRuntime.save(model, tmp_path, allow_pickle=False)
    rt = SklearnRuntime()
    rt.load(tmp_path, meta)
    return rt


@pytest.mark.parametrize("kind", ["hgb", "forest", "tree", "pipeline"])
def test_argmax_classifiers_fuse_and_agree_with_predict(kind: str, tmp_path: Path) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    X, y = _data()
    model = {
        "hgb": lambda: HistGradientBoostingClassifier(max_iter=20),
        "forest": lambda: RandomForestClassifier(n_estimators=10, random_state=0),
        "tree": lambda: DecisionTreeClassifier(max_depth=4),
        "pipeline": lambda: make_pipeline(StandardScaler(), RandomForestClassifier(5)),
    }[kind]().fit(X, y)
    rt = _runtime(model, tmp_path)
    both = rt.predict_both(X)
    assert both is not None
    preds, proba = both
    assert (preds == rt.predict(X)).all() and preds.dtype == rt.predict(X).dtype
    np.testing.assert_array_equal(proba, rt.predict_proba(X))


@pytest.mark.parametrize("kind", ["logistic", "calibrated-svc", "regressor"])
def test_other_models_keep_two_calls(kind: str, tmp_path: Path) -> None:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    X, y = _data(120)
    model = {
        "logistic": lambda: LogisticRegression().fit(X, y),
        "calibrated-svc": lambda: CalibratedClassifierCV(SVC(), ensemble=False).fit(X, y),
        "regressor": lambda: RandomForestRegressor(5).fit(X, y.astype(float)),
    }[kind]()
    assert _runtime(model, tmp_path).predict_both(X) is None


def test_lightgbm_fuses(tmp_path: Path) -> None:
    lgb = pytest.importorskip("lightgbm")
    from mainsail.runtimes._boosting import LightGBMRuntime

    X, y = _data()
    model = lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(X, y)
    meta = LightGBMRuntime.save(model, tmp_path, allow_pickle=False)
    rt = LightGBMRuntime()
    rt.load(tmp_path, meta)
    both = rt.predict_both(X)
    assert both is not None
    assert (both[0] == rt.predict(X)).all()
    np.testing.assert_allclose(both[1], rt.predict_proba(X))


@pytest.mark.parametrize("kind", ["stacking", "multi-output-forest", "hard-voting"])
def test_ensembles_whose_predict_is_not_the_argmax_keep_two_calls(
    kind: str, tmp_path: Path
) -> None:
    from sklearn.ensemble import RandomForestClassifier, StackingClassifier, VotingClassifier
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    X, y = _data(200)
    if kind == "stacking":
        # predict is the final estimator's own predict, whatever that estimator is
        model = StackingClassifier(
            [("tree", DecisionTreeClassifier(max_depth=3)), ("svc", SVC())]
        ).fit(X, y)
    elif kind == "multi-output-forest":  # predict_proba gives one array per output
        model = RandomForestClassifier(5, random_state=0).fit(X, np.c_[y, y % 3])
        assert isinstance(model.predict_proba(X), list)
    else:  # hard voting has no predict_proba at all
        model = VotingClassifier([("t", DecisionTreeClassifier())], voting="hard").fit(X, y)
    rt = _runtime(model, tmp_path)
    assert rt.predict_both(X) is None
    assert len(rt.predict(X)) == len(X)


def test_soft_voting_fuses_as_its_predict_is_the_argmax(tmp_path: Path) -> None:
    from sklearn.ensemble import VotingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    X, y = _data(200)
    estimators = [("t", DecisionTreeClassifier(max_depth=3)), ("lr", LogisticRegression())]
    model = VotingClassifier(estimators, voting="soft").fit(X, y)
    rt = _runtime(model, tmp_path)
    both = rt.predict_both(X)
    assert both is not None and (both[0] == rt.predict(X)).all()


def test_a_failing_fused_call_costs_only_the_logged_probability(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The probability is only for the log: when the fused call fails (a fault injected
    # into the loaded runtime), the request still gets predict's answer, as unfused.
    from sklearn.ensemble import RandomForestClassifier

    import mainsail
    from mainsail.registry._registry import load_model
    from mainsail.serving._model import ServedModel
    from mainsail.serving._predlog import SegmentWriter

    X, y = _data(120)
    mainsail.register_model(
        RandomForestClassifier(5, random_state=0).fit(X, y), name="rf", input_example=X.head()
    )
    loaded = load_model(ctx, "models:/rf/1")
    served = ServedModel(loaded, "rf", log=SegmentWriter(str(tmp_path), "predictions", "rf"))
    assert served.logs_probability
    expected = loaded.runtime.predict(X)

    def fails(frame: pd.DataFrame) -> None:
        raise MemoryError("predict_proba ran out of memory")

    loaded.runtime.predict_both = fails  # type: ignore[attr-defined]
    preds, proba = served._predict(X, want_proba=False)
    assert (preds == expected).all() and proba is None
    with pytest.raises(MemoryError):  # the client asked for probabilities: its error
        served._predict(X, want_proba=True)
