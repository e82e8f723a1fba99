"""Robustness, invariance, directional expectations, budgets, schema and skew checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mainsail
from mainsail.checks._compat import compare_signatures
from mainsail.core import InvalidValueError
from mainsail.registry import infer_signature

from .conftest import pipeline


def _with_holes(X: pd.DataFrame) -> pd.DataFrame:
    ref = X.copy()
    ref.loc[ref.index[::10], "income"] = np.nan  # the raw data has holes; the model never saw them
    return ref


def test_model_crashing_on_missing_values_fails_robustness(ctx, frames) -> None:  # type: ignore[no-untyped-def]
    train, holdout = frames
    X = train.drop(columns="churned")
    fragile = pipeline(["age", "income", "plan"]).fit(X, train.churned)  # no imputer
    mainsail.register_model(
        fragile, name="fragile", input_example=X.head(), reference=_with_holes(X)
    )
    num = ["age", "income"]
    sturdy = pipeline(num, impute=True).fit(X[num], train.churned)
    mainsail.register_model(
        sturdy, name="sturdy", input_example=X[num].head(), reference=_with_holes(X[num])
    )
    policy = {"label": "churned", "robustness": {"missing": 0.1, "noise": 0.05, "max_drop": 0.1}}

    r = mainsail.check("fragile/1", holdout, policy=policy, progress=False)
    by = {c.name: c for c in r.checks}
    miss = by["robustness.missing"]
    assert miss.status == "fail" and miss.data["crashed"]
    assert "crashed on 10% missing values in income" in miss.detail and "NaN" in miss.detail
    assert by["robustness.noise"].status == "pass"
    assert by["robustness.unseen"].status == "pass"  # OneHotEncoder(handle_unknown="ignore")
    assert r.verdict == "rejected" and "robustness.missing" in r.reason

    ok = mainsail.check("sturdy/1", holdout, policy=policy, progress=False)
    by = {c.name: c for c in ok.checks}
    assert by["robustness.missing"].status == "pass", by["robustness.missing"].detail
    assert by["robustness.missing"].value is not None and by["robustness.missing"].value < 0.1
    assert "skipped: no string" in by["robustness.unseen"].detail
    assert ok.verdict == "blessed", ok.reason


def test_missing_values_refused_by_the_signature_are_skipped(churn) -> None:  # type: ignore[no-untyped-def]
    r = mainsail.check(
        "churn/2", churn, policy={"label": "churned", "robustness": {}}, progress=False
    )
    miss = next(c for c in r.checks if c.name == "robustness.missing")
    assert miss.status == "pass" and "signature refuses missing values" in miss.detail
    oor = next(c for c in r.checks if c.name == "robustness.out_of_range")
    assert oor.data["perturbed"] < oor.data["clean"]  # extreme values do cost the linear model


def test_invariance_and_directional(churn) -> None:  # type: ignore[no-untyped-def]
    policy = {
        "invariance": [{"feature": "plan"}, {"feature": "plan", "values": ["basic", "team"]}],
        "directional": [
            {"feature": "income", "direction": "increase", "expect": "non_decreasing"},
            {"feature": "age", "direction": "increase", "expect": "non_decreasing"},
        ],
    }
    good = mainsail.check("churn/2", churn, policy=policy, progress=False)
    by = {c.name: c for c in good.checks}
    assert by["invariance.plan"].status == "fail" and by["invariance.plan"].value > 0.3
    assert by["directional.income"].status == "pass" and by["directional.income"].value == 0
    assert by["directional.age"].status == "fail"  # older customers churn less
    assert "1500 rows (100.0%) violate it" in by["directional.age"].detail
    age_only = mainsail.check(
        "churn/1", churn, policy={"invariance": policy["invariance"]}, progress=False
    )
    assert all(
        c.status == "pass" and c.value == 0 for c in age_only.checks if c.kind == "invariance"
    )
    assert age_only.verdict == "blessed"  # no label: behavioural expectations alone can bless
    with pytest.raises(
        InvalidValueError, match="'salary', which is not a model input.*age, income, plan"
    ):
        mainsail.check(
            "churn/2", churn, policy={"invariance": [{"feature": "salary"}]}, progress=False
        )
    with pytest.raises(InvalidValueError, match="needs a numeric input"):
        mainsail.check(
            "churn/2",
            churn,
            policy={"directional": [{"feature": "plan", "expect": "increasing"}]},
            progress=False,
        )


def test_budgets(churn) -> None:  # type: ignore[no-untyped-def]
    policy = {
        "budgets": {
            "p99_ms": 1e-6,
            "size_mb": 100,
            "load_memory_mb": 500,
            "min_rows_per_s": 1,
            "latency_requests": 30,
            "time_limit_s": 1,
        },
    }
    r = mainsail.check("churn/2", churn, policy=policy, progress=False)
    by = {c.name: c for c in r.checks}
    assert by["budgets.p99_ms"].status == "fail" and 0 < by["budgets.p99_ms"].data["calls"] <= 30
    assert by["budgets.size_mb"].status == "pass" and 0 < by["budgets.size_mb"].value < 100
    assert by["budgets.load_memory_mb"].status == "pass" and by["budgets.load_memory_mb"].value > 0
    assert by["budgets.rows_per_s"].status == "pass" and by["budgets.rows_per_s"].value > 100
    assert r.verdict == "rejected"


def test_skew_against_the_reference_profile(churn) -> None:  # type: ignore[no-untyped-def]
    shifted = churn.assign(income=churn.income + 25)
    r = mainsail.check(
        "churn/2", shifted, policy={"skew": {"max_drift_share": 0.3}}, progress=False
    )
    skew = r.checks[0]
    assert skew.name == "skew" and skew.status == "fail"
    assert skew.data["drifted"] == ["income"] and "income" in skew.detail
    same = mainsail.check("churn/2", churn, policy={"skew": {}}, progress=False)
    assert same.checks[0].status == "pass" and same.verdict == "blessed"


def test_schema_compatibility_rules() -> None:
    def sig(df: pd.DataFrame):  # type: ignore[no-untyped-def]
        return infer_signature(df, None, "classification", [0, 1])

    old = sig(
        pd.DataFrame({"age": [30, 40], "income": [1.5, None], "plan": pd.Categorical(["a", "b"])})
    )
    assert compare_signatures(old, old) == []
    wider = sig(
        pd.DataFrame(
            {
                "age": [30.5, 1.0],
                "income": [1.5, None],
                "plan": pd.Categorical(["a", "b"], categories=["a", "b", "c"]),
            }
        )
    )
    assert compare_signatures(old, wider) == []  # int -> float and more categories are fine
    assert (
        compare_signatures(old, sig(pd.DataFrame({"age": [30, 31], "income": [np.nan, 1.0]}))) == []
    )  # plan dropped
    narrower = sig(
        pd.DataFrame({"age": [30], "income": [1.0], "plan": pd.Categorical(["a"]), "x": [1]})
    )
    problems = compare_signatures(old, narrower)
    assert "input 'income' accepted missing values and now refuses them" in problems
    assert "input 'plan' no longer knows categories 'b'" in problems
    assert "new required input 'x' (clients today do not send it)" in problems
    typed = sig(
        pd.DataFrame({"age": ["x", "y"], "income": [1.0, None], "plan": pd.Categorical(["a", "b"])})
    )
    assert compare_signatures(old, typed)[0] == "input 'age' was int, is now string"


def test_schema_check_against_the_baseline(churn, frames, fitted) -> None:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    train, _ = frames
    X = train.drop(columns="churned").assign(tenure=np.arange(len(train)))
    model = LogisticRegression(max_iter=300).fit(X[["age", "income", "tenure"]], train.churned)
    mainsail.register_model(
        model, name="churn", input_example=X[["age", "income", "tenure"]].head()
    )
    data = churn.assign(tenure=np.arange(len(churn)))
    r = mainsail.check(
        "churn/3",
        data,
        baseline="@champion",
        policy={"label": "churned", "schema": True, "metrics": {"accuracy": 0.5}},
        progress=False,
    )
    schema = next(c for c in r.checks if c.name == "schema")
    assert schema.status == "fail" and "new required input 'tenure'" in schema.detail
    assert r.verdict == "rejected"
    with pytest.raises(InvalidValueError, match="endpoint 'web'.*--baseline"):
        mainsail.check("churn/3", data, endpoint="web", policy={"schema": True}, progress=False)
    # Once the endpoint exists, its stable variant's signature is the one to keep accepting.
    mainsail.deploy("web", "models:/churn/1")
    r = mainsail.check(
        "churn/3",
        data,
        endpoint="web",
        policy={"label": "churned", "schema": True, "metrics": {"accuracy": 0.5}},
        progress=False,
    )
    schema = next(c for c in r.checks if c.name == "schema")
    assert schema.status == "fail" and "new required input 'tenure'" in schema.detail
    assert "web" in schema.detail


def test_custom_check_registered_by_name(churn) -> None:  # type: ignore[no-untyped-def]
    from mainsail.checks import CheckOutcome, register_check, unregister_check

    class RowCount:
        name = "rows"

        def __init__(self, config):  # type: ignore[no-untyped-def]
            self.minimum = config["min"]

        def run(self, context):  # type: ignore[no-untyped-def]
            n = len(context.X)
            return [
                CheckOutcome(
                    name="rows",
                    kind="rows",
                    status="pass" if n >= self.minimum else "fail",
                    value=n,
                    threshold=self.minimum,
                )
            ]

    register_check("rows", RowCount)
    try:
        r = mainsail.check("churn/2", churn, policy={"rows": {"min": 100}}, progress=False)
        assert r.verdict == "blessed" and r.checks[-1].value == len(churn)
        assert (
            mainsail.check(
                "churn/2", churn, policy={"rows": {"min": 10**6}}, progress=False
            ).verdict
            == "rejected"
        )
    finally:
        unregister_check("rows")
