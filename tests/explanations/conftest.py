"""Small data sets and models for the explain tests, built once per session.

The planted data set: five standard-normal features, and the label is ``x0 > 0`` — so every
honest method must rank ``x0`` first, and give it the sign of ``x0`` in clear rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

FEATURES = ["x0", "x1", "x2", "x3", "x4"]


@pytest.fixture(scope="session")
def planted() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(300, 5)), columns=FEATURES)
    return X, (X["x0"] > 0).astype(int)


@pytest.fixture(scope="session")
def clear_rows(planted: tuple[pd.DataFrame, pd.Series]) -> pd.DataFrame:
    """Rows whose label is not a close call: |x0| > 0.5."""
    X, _ = planted
    return X[X["x0"].abs() > 0.5].head(6).reset_index(drop=True)


@pytest.fixture(scope="session")
def data() -> dict[str, pd.DataFrame | pd.Series]:
    """Features with missing values in x1, and binary, 3-class and numeric targets."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    X.loc[X.index % 9 == 0, "b"] = np.nan
    signal = X["a"] + 0.5 * X["b"].fillna(0) + 0.25 * X["c"]
    return {
        "X": X,
        "binary": (signal > 0).astype(int),
        "multiclass": pd.Series(np.digitize(signal, [-0.5, 0.5])),
        "regression": 2.0 * signal + 0.1 * X["d"],
    }


@pytest.fixture(scope="session")
def complete(data: dict[str, pd.DataFrame | pd.Series]) -> pd.DataFrame:
    """``data["X"]`` without missing values (for models that take none)."""
    X = data["X"]
    assert isinstance(X, pd.DataFrame)
    return X.fillna(0.0)
