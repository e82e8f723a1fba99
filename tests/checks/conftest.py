"""A churn-like problem with a good and a deliberately worse model, and a holdout dataset."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import mainsail


def churn_frame(n: int, seed: int) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": r.integers(18, 80, n),
            "income": r.normal(50, 15, n),
            "plan": r.choice(["basic", "pro", "team"], n),
        }
    )
    logit = 0.1 * (df.income - 50) - 0.04 * (df.age - 45) + (df.plan == "pro") * 0.8
    df["churned"] = (r.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df


def pipeline(columns: list[str], impute: bool = False) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    scale: Any = make_pipeline(SimpleImputer(), StandardScaler()) if impute else StandardScaler()
    parts: list[Any] = [("num", scale, [c for c in columns if c != "plan"])]
    if "plan" in columns:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]))
    return make_pipeline(ColumnTransformer(parts), LogisticRegression(max_iter=500))


@pytest.fixture(scope="session")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return churn_frame(2000, 1), churn_frame(1500, 2)


@pytest.fixture(scope="session")
def fitted(frames):  # type: ignore[no-untyped-def]
    train, _ = frames
    X, y = train.drop(columns="churned"), train["churned"]
    good = pipeline(["age", "income", "plan"]).fit(X, y)
    worse = pipeline(["age"]).fit(X, y)
    return good, worse


@pytest.fixture
def churn(ctx, frames, fitted):  # type: ignore[no-untyped-def]
    """v1 = the worse model (champion), v2 = the good one; holdout = datasets:/churn-holdout/1."""
    train, holdout = frames
    good, worse = fitted
    X = train.drop(columns="churned")
    mainsail.register_model(worse, name="churn", input_example=X.head(), reference=X)
    mainsail.register_model(good, name="churn", input_example=X.head(), reference=X)
    mainsail.set_alias("churn", "champion", 1)
    mainsail.log_dataset(holdout, name="churn-holdout")
    return holdout


POLICY = {
    "label": "churned",
    "metrics": {"roc_auc": {"min": 0.75}, "accuracy": {"min": 0.6}},
    "baseline": {"metric": "roc_auc", "margin": -0.01, "n_boot": 400},
}
