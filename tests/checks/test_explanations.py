"""The ``explanations`` release check on planted models: who relies on what."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mainsail
from mainsail.core import InvalidValueError


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    """``customer_id`` is an id that leaks the label in training; ``signal`` is honest."""
    rng = np.random.default_rng(11)
    n = 1500
    df = pd.DataFrame(
        {
            "signal": rng.normal(size=n),
            "tenure": rng.normal(size=n),
            "spend": rng.normal(size=n),
            "customer_id": rng.normal(size=n),
        }
    )
    df["churned"] = (df["signal"] + 0.3 * df["tenure"] > 0).astype(int)
    return df


@pytest.fixture
def registered(ctx, planted):  # type: ignore[no-untyped-def]
    """v1 (champion): honest trees on signal and tenure; v2: a leaky model keyed on the id."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = planted.drop(columns="churned"), planted["churned"]
    honest = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(
        X.assign(customer_id=0.0), y
    )
    leaky_label = (X["customer_id"] > 0).astype(int)  # the id "decides" the label
    leaky = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, leaky_label)
    mainsail.register_model(honest, name="churn", reference=X)
    mainsail.register_model(leaky, name="churn", reference=X)
    mainsail.set_alias("churn", "champion", 1)
    return planted


POLICY = {
    "explanations": {
        "top_k": 2,
        "min_overlap": 1.0,
        "forbidden": ["customer_id"],
        "max_forbidden_share": 0.1,
        "rows": 300,
    }
}


def test_a_model_keyed_on_a_forbidden_feature_is_rejected(registered) -> None:  # type: ignore[no-untyped-def]
    data = registered.head(600)
    honest = mainsail.check("churn/1", data, policy=POLICY, progress=False)
    by = {c.name: c for c in honest.checks}
    assert by["explanations.forbidden.customer_id"].status == "pass"
    assert by["explanations.forbidden.customer_id"].value < 0.01
    assert by["explanations.top_k"].status == "inconclusive"  # min_overlap needs a baseline
    assert by["explanations.top_k"].data["candidate_top"] == ["signal", "tenure"]
    assert honest.verdict == "blessed"

    leaky = mainsail.check("churn/2", data, baseline="@champion", policy=POLICY, progress=False)
    by = {c.name: c for c in leaky.checks}
    forbidden = by["explanations.forbidden.customer_id"]
    assert forbidden.status == "fail" and forbidden.value > 0.5 and forbidden.threshold == 0.1
    assert forbidden.data["rank"] == 1 and forbidden.data["method"] == "tree"
    assert "'customer_id' carries" in forbidden.detail
    top = by["explanations.top_k"]
    assert top.status == "fail" and top.value <= 0.5  # the id pushed an honest feature out
    assert top.data["baseline_top"] == ["signal", "tenure"]
    assert top.data["candidate_top"][0] == "customer_id"
    assert "customer_id" in top.data["new_in_top"]
    assert leaky.verdict == "rejected"
    assert "explanations.forbidden.customer_id" in leaky.reason
    # the report shows it
    assert "explanations.forbidden.customer_id" in leaky.html()


def test_a_retrained_honest_model_keeps_its_top_features(registered) -> None:  # type: ignore[no-untyped-def]
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = registered.drop(columns="churned"), registered["churned"]
    retrained = HistGradientBoostingClassifier(max_iter=20, random_state=1).fit(X, y)
    mainsail.register_model(retrained, name="churn", reference=X)
    r = mainsail.check(
        "churn/3",
        registered.head(400),
        baseline="@champion",
        policy={"explanations": {"top_k": 2, "min_overlap": 1.0, "rows": 200}},
        progress=False,
    )
    top = next(c for c in r.checks if c.name == "explanations.top_k")
    assert top.status == "pass" and top.value == 1.0 and r.verdict == "blessed"


def test_bad_explanations_policy_is_a_clear_error(registered) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidValueError, match="'user_id', which is not a model input"):
        mainsail.check(
            "churn/1",
            registered.head(100),
            policy={"explanations": {"forbidden": ["user_id"]}},
            progress=False,
        )
    with pytest.raises(InvalidValueError, match="explanations.max_forbidden_share"):
        mainsail.check(
            "churn/1",
            registered.head(100),
            policy={"explanations": {"max_forbidden_share": 2}},
            progress=False,
        )
