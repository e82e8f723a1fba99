"""The retraining pipeline that ``churn-retrain.yaml`` names (``flows:retrain``).

Create the automation from this folder (or with it on PYTHONPATH), where the worker imports
it the same way: ``cd examples/automation && mainsail automation create -f churn-retrain.yaml``.
It trains on the newest labelled rows of the dataset ``churn-live`` (log yours first with
``mainsail.log_dataset(df, name="churn-live")``; the label column is ``churned``).
"""

from __future__ import annotations

import pandas as pd

import mainsail

LABEL = "churned"


def features(frame: pd.DataFrame) -> pd.DataFrame:
    """Model inputs: every column but the label, text columns as pandas categories."""
    X = frame.drop(columns=[LABEL], errors="ignore")
    return X.assign(**{c: X[c].astype("category") for c in X if X[c].dtype == object})


@mainsail.step
def load_recent(dataset: str, last_rows: int) -> pd.DataFrame:
    """The newest ``last_rows`` labelled rows of the dataset's latest version."""
    return mainsail.load_dataset(f"datasets:/{dataset}@latest").tail(last_rows)


@mainsail.step(outputs=["train", "holdout"])
def split(frame: pd.DataFrame, holdout_share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    holdout = frame.sample(frac=holdout_share, random_state=seed)
    return frame.drop(index=holdout.index).reset_index(drop=True), holdout.reset_index(drop=True)


@mainsail.step
def fit(train: pd.DataFrame, max_depth: int, seed: int):  # type: ignore[no-untyped-def]
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_depth=max_depth, max_iter=80, random_state=seed
    )
    return model.fit(features(train), train[LABEL])


@mainsail.step
def reference(train: pd.DataFrame) -> pd.DataFrame:
    """The training features: the reference profile that drift is measured against."""
    return features(train)


@mainsail.pipeline
def retrain(dataset: str = "churn-live", last_rows: int = 4000, max_depth: int = 4, seed: int = 0):  # type: ignore[no-untyped-def]
    """Train on the newest labelled rows; return what registration and checks need."""
    train, holdout = split(load_recent(dataset, last_rows), 0.25, seed)
    return {"model": fit(train, max_depth, seed), "reference": reference(train), "holdout": holdout}
