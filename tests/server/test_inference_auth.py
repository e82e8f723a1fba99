"""Inference and feedback hosted by the server (``mainsail server --endpoint``): tokens with
the right scope, bound to the endpoint's project; feedback is audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

from mainsail.client._context import Context
from mainsail.security import issue_token
from mainsail.server import create_app

BODY = {"dataframe_records": [{"a": 1.0, "b": 0.0}, {"a": -1.0, "b": 0.0}]}


@pytest.fixture
def hosted(server_ctx: Context) -> Iterator[TestClient]:
    from mainsail.registry import register_model
    from mainsail.rollout import deploy
    from mainsail.serving._app import create_app as create_data_plane
    from mainsail.serving._settings import ServeSettings

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    model = LogisticRegression().fit(X, (X["a"] > 0).astype(int))
    mv = register_model(server_ctx, model, name="churn", input_example=X.head())
    deploy(server_ctx, "churn", mv.address)
    plane = create_data_plane(server_ctx, ServeSettings(endpoint="churn"))
    app = create_app(server_ctx, auth=True, inference=plane, ui=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _token(ctx: Context, user: str, scopes: list[str], project: str | None) -> str:
    ctx.store.create_user(user, roles={project: "viewer"} if project else None)
    return issue_token(ctx.store, user, scopes).token


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


FEEDBACK = [{"request_id": "r1", "label": 1}]


def test_feedback_needs_a_token_with_the_predict_or_feedback_scope(
    hosted: TestClient, server_ctx: Context
) -> None:
    assert hosted.post("/v1/feedback", json=FEEDBACK).status_code == 401
    read = _token(server_ctx, "reader", ["read"], "churn")
    denied = hosted.post("/v1/feedback", json=FEEDBACK, headers=_auth(read))
    assert denied.status_code == 403
    assert "'feedback'" in denied.json()["error"] and "'predict'" in denied.json()["error"]
    for user, scope in (("labeller", "feedback"), ("app", "predict")):
        tok = _token(server_ctx, user, [scope], "churn")
        ok = hosted.post("/v1/feedback", json=FEEDBACK, headers=_auth(tok))
        assert ok.status_code == 200, ok.text
    # a feedback-only token cannot predict
    labeller = issue_token(server_ctx.store, "labeller", ["feedback"]).token
    assert hosted.post("/invocations", json=BODY, headers=_auth(labeller)).status_code == 403


def test_inference_and_feedback_tokens_are_scoped_to_the_endpoints_project(
    hosted: TestClient, server_ctx: Context
) -> None:
    other = _token(server_ctx, "fraud-app", ["predict", "feedback"], "fraud-*")
    for path, body in (("/invocations", BODY), ("/v1/feedback", FEEDBACK)):
        resp = hosted.post(path, json=body, headers=_auth(other))
        assert resp.status_code == 403, (path, resp.text)
        assert "project 'churn'" in resp.json()["error"]
    mine = _token(server_ctx, "churn-app", ["predict"], "churn*")
    ok = hosted.post("/invocations", json=BODY, headers=_auth(mine))
    assert ok.status_code == 200, ok.text
    assert ok.json()["predictions"] == [1, 0]


def test_feedback_is_audited_allowed_or_not(hosted: TestClient, server_ctx: Context) -> None:
    tok = _token(server_ctx, "labeller", ["feedback"], "churn")
    records: list[dict[str, Any]] = [{"request_id": f"r{i}", "label": i % 2} for i in range(3)]
    assert hosted.post("/v1/feedback", json=records, headers=_auth(tok)).status_code == 200
    assert hosted.post("/v1/feedback", json=records).status_code == 401
    events = server_ctx.store.list_audit_events(action="endpoints.feedback")
    assert [(e.actor, e.status) for e in events] == [("unauthenticated", 401), ("labeller", 200)]
    assert events[1].target == "endpoints/churn/feedback"
    assert events[1].after == {"records": 3}
