"""The prediction baseline: a version's reference profile holds its outputs on the reference."""

from __future__ import annotations

import numpy as np
import pandas as pd

import mainsail
from mainsail.data import Profile


def _fit(n: int = 600):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = (X["a"] + 0.3 * X["b"] > 0).astype(int)
    return LogisticRegression().fit(X, y), X


def test_reference_profile_holds_the_models_predictions(ctx) -> None:  # type: ignore[no-untyped-def]
    model, X = _fit()
    mv = mainsail.register_model(model, name="clf", reference=X)
    profile = Profile.from_dict(mv.reference_profile or {})
    pred = profile.columns["prediction"]
    assert pred.count == len(X) and set(profile.columns) == {"a", "b", "prediction"}
    assert pred.mean == np.mean(model.predict(X))
    # Only a few example rows: no baseline worth comparing with, so none is made.
    mv2 = mainsail.register_model(model, name="clf", input_example=X.head())
    assert "prediction" not in (mv2.reference_profile or {})["columns"]


def test_model_that_rejects_missing_values_predicts_on_complete_rows(ctx) -> None:  # type: ignore[no-untyped-def]
    model, X = _fit()
    ref = X.copy()
    ref.loc[:49, "a"] = np.nan  # LogisticRegression raises on NaN
    mv = mainsail.register_model(model, name="clf", input_example=X.head(), reference=ref)
    profile = Profile.from_dict(mv.reference_profile or {})
    assert profile.columns["a"].count == len(X) - 50
    assert profile.columns["prediction"].count == len(X) - 50
