"""A served churn model with mixed inputs, and helpers that send real traffic and labels."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from starlette.testclient import TestClient

import mainsail

PLANS = ["basic", "pro", "max"]


def churn_frame(n: int, seed: int = 0, age_shift: float = 0.0, plan_p: Any = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + age_shift, 10, n),
            "income": rng.normal(50, 15, n),
            "plan": rng.choice(PLANS, n, p=plan_p or [0.5, 0.3, 0.2]),
        }
    )


def truth(frame: pd.DataFrame) -> list[int]:
    return (frame["age"] > 40).astype(int).tolist()


@pytest.fixture
def churn_model(ctx):  # type: ignore[no-untyped-def]
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    X = churn_frame(3000)
    y = truth(X)
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["plan"]), remainder="passthrough"
        ),
        LogisticRegression(max_iter=500),
    ).fit(X, y)
    mainsail.register_model(model, name="churn", input_example=X.head(), reference=X)
    return model, X


@pytest.fixture
def served(churn_model, ctx) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """An in-process data plane for models:/churn/1; ``.traffic(frame, label_every=...)``."""
    from mainsail.serving import ServeSettings, create_app

    app = create_app(ctx, ServeSettings(model="models:/churn/1", log_flush_interval=0.2))
    with TestClient(app) as client:

        def send(
            frame: pd.DataFrame,
            batch: int = 100,
            label_every: int = 1,
            labels: Callable[[pd.DataFrame], list[Any]] = truth,
        ) -> list[str]:
            ids = []
            for k, i in enumerate(range(0, len(frame), batch)):
                part = frame.iloc[i : i + batch]
                r = client.post(
                    "/invocations", json={"dataframe_records": part.to_dict(orient="records")}
                )
                assert r.status_code == 200, r.text
                rid = r.headers["x-request-id"]
                ids.append(rid)
                if label_every and k % label_every == 0:
                    fb = client.post(
                        "/v1/feedback", json=[{"request_id": rid, "label": labels(part)}]
                    )
                    assert fb.status_code == 200, fb.text
            plane = client.app.state.plane  # type: ignore[attr-defined]
            plane.predictions.flush()
            plane.feedback.flush()
            return ids

        client.traffic = send  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def make_churn() -> Callable[..., pd.DataFrame]:
    """``make_churn(n, seed, age_shift=0, plan_p=None)``: model inputs like the reference."""
    return churn_frame
