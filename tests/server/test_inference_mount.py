"""One command runs the whole platform: ``mainsail server --endpoint`` hosts the data plane."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mainsail
from mainsail.security import issue_token
from mainsail.server._process import ServerProcess


@pytest.fixture
def deployed(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    ctx = mainsail.configure(home=str(home))
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    model = LogisticRegression().fit(X, (X["a"] > 0).astype(int))
    mv = mainsail.register_model(model, name="churn", input_example=X.head(), reference=X)
    mainsail.deploy("churn", mv.address)
    ctx.store.create_user("svc", roles={"churn": "viewer"})  # predict tokens are project-scoped
    mainsail.reset()
    return home


def _wait_ready(url: str, headers: dict[str, str] | None = None, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = httpx.get(f"{url}/v2/health/ready", headers=headers, timeout=2)
        if r.status_code == 200:
            return
        time.sleep(0.25)
    raise AssertionError(f"inference not ready: {r.status_code} {r.text}")


def test_server_hosts_the_endpoint_with_the_predict_scope(deployed: Path) -> None:
    ctx = mainsail.configure(home=str(deployed))
    predict = issue_token(ctx.store, "svc", ["predict"]).token
    read = issue_token(ctx.store, "svc", ["read"]).token
    mainsail.reset()
    body = {"dataframe_records": [{"a": 1.0, "b": 0.0}, {"a": -1.0, "b": 0.0}]}
    with ServerProcess(deployed, "--endpoint", "churn", timeout_s=90) as srv:
        _wait_ready(srv.url, {"Authorization": f"Bearer {predict}"})
        assert httpx.post(f"{srv.url}/invocations", json=body).status_code == 401
        denied = httpx.post(
            f"{srv.url}/invocations", json=body, headers={"Authorization": f"Bearer {read}"}
        )
        assert denied.status_code == 403
        ok = httpx.post(
            f"{srv.url}/invocations", json=body, headers={"Authorization": f"Bearer {predict}"}
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["predictions"] == [1, 0]
        assert ok.headers["x-mainsail-variant"] == "stable"
        # explanations take the same scope, and explain a logged prediction by its id
        by_id = f"{srv.url}/v1/explanations/{ok.headers['x-request-id']}"
        for url, call in ((f"{srv.url}/explain", httpx.post), (by_id, httpx.get)):
            kw: dict[str, Any] = {"json": body} if call is httpx.post else {}
            assert call(url, **kw).status_code == 401
            assert call(url, headers={"Authorization": f"Bearer {read}"}, **kw).status_code == 403
            explained = call(url, headers={"Authorization": f"Bearer {predict}"}, **kw)
            assert explained.status_code == 200, explained.text
            assert explained.json()["method"] == "linear"
        assert explained.json()["prediction"] == [1, 0]
        # the control plane answers in the same process
        endpoint = httpx.get(
            f"{srv.url}/api/v1/health/ready", headers={"Authorization": f"Bearer {read}"}
        )
        assert endpoint.status_code == 200


def test_unknown_endpoint_is_a_clear_error(deployed: Path) -> None:
    with (
        pytest.raises(Exception, match="churn"),
        ServerProcess(deployed, "--endpoint", "nope", timeout_s=60),
    ):
        pass


def test_work_that_needs_the_database_says_where_to_run_against_a_server(tmp_path: Path) -> None:
    from mainsail.core import ConfigurationError, Settings
    from mainsail.store import Context
    from mainsail.store._rest_store import RestArtifactStore, RestClient, RestStore

    client = RestClient("http://127.0.0.1:9")
    settings = Settings(home=tmp_path, tracking_uri="http://127.0.0.1:9")
    ctx = Context(settings, RestStore(client), RestArtifactStore(client), remote=client)
    assert ctx.is_remote
    with pytest.raises(ConfigurationError, match="Serving an endpoint needs the metadata database"):
        ctx.database("Serving an endpoint")
    ctx.close()
