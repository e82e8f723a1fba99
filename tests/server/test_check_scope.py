"""Release checks reach only projects the caller can view.

A developer on project ``beta`` runs checks on ``beta``'s versions; the data, the endpoint
and the baseline a check names are read with the caller's rights, so naming ``alpha``'s
dataset or endpoint is refused (403) before anything is read, and so is recording a result
said to come from ``alpha``'s data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mainsail.client._context import Context
from mainsail.core._settings import Settings
from mainsail.security import create_user_with_token
from mainsail.server import create_app
from mainsail.server.routers._sdk import bound
from mainsail.store import ArtifactStore, Database, SqlStore

from ._domains import POLICY, register_models

API = "/api/v1"
RUN = f"{API}/models/beta/versions/1/checks"
RECORD = f"{RUN}/record"


@pytest.fixture(scope="module")
def bob(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A server with models alpha and beta (and their holdouts, and endpoint alpha);
    a client for bob, a developer on ``beta*`` (model beta, dataset beta-holdout) only."""
    import mainsail

    home = tmp_path_factory.mktemp("scope")
    store = SqlStore(Database(f"sqlite:///{home / 'srv' / 'mainsail.db'}"))
    ctx = Context(Settings(home=home / "srv"), store, ArtifactStore(str(home / "art")))
    register_models(ctx, "alpha")
    register_models(ctx, "beta")
    with bound(ctx):
        mainsail.deploy("alpha", "models:/alpha/1")
    token = create_user_with_token(store, "bob", "developer", project="beta*").token
    with TestClient(create_app(ctx, auth=True), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client
    store.db.dispose()


def denied(r: Any, project: str) -> bool:
    return r.status_code == 403 and f"project {project!r}" in r.json()["error"]


def test_a_check_reads_only_viewable_data_endpoints_and_baselines(bob: TestClient) -> None:
    own = {"data": "datasets:/beta-holdout/1", "policy": POLICY}
    r = bob.post(RUN, json=own)
    assert r.status_code == 201 and r.json()["data_ref"] == own["data"], r.text
    r = bob.post(RUN, json={**own, "data": "datasets:/alpha-holdout/1"})
    assert denied(r, "alpha-holdout") and "datasets:/alpha-holdout/1" in r.json()["error"], r.text
    r = bob.post(RUN, json={**own, "data": "datasets:/alpha-nothing/1"})  # no existence oracle
    assert denied(r, "alpha-nothing"), r.text
    r = bob.post(RUN, json={**own, "endpoint": "alpha"})
    assert denied(r, "alpha") and "endpoint 'alpha'" in r.json()["error"], r.text
    for base in ("models:/alpha/1", "alpha@champion", " models:/alpha/2"):
        r = bob.post(RUN, json={**own, "baseline": base})
        assert denied(r, "alpha"), (base, r.text)
    r = bob.post(RUN, json={**own, "baseline": "models:/beta/2"})
    assert r.status_code == 201 and r.json()["baseline_version"] == 2, r.text
    r = bob.post(RUN, json={**own, "data": "datasets:/beta-holdout/x"})
    assert r.status_code == 422 and "Expected an address" in r.json()["error"], r.text
    r = bob.post(RUN, json={**own, "baseline": "models:/beta/../alpha/1"})
    assert r.status_code == 422 and "Expected an address" in r.json()["error"], r.text


def test_a_recorded_result_names_only_viewable_data(bob: TestClient) -> None:
    body = {
        "verdict": "blessed",
        "data_ref": "datasets:/beta-holdout/1",
        "policy": POLICY,
        "checks": [{"name": "accuracy", "kind": "metrics", "status": "pass", "threshold": 0.6}],
    }
    assert bob.post(RECORD, json=body).status_code == 201
    local = {**body, "data_ref": "dataframe sha256:0123456789abcdef"}  # not a dataset: a label
    assert bob.post(RECORD, json=local).status_code == 201
    r = bob.post(RECORD, json={**body, "data_ref": "datasets:/alpha-holdout/1"})
    assert denied(r, "alpha-holdout"), r.text
    r = bob.post(RECORD, json={**body, "data_ref": "datasets:/alpha holdout"})
    assert r.status_code == 422 and "Expected an address" in r.json()["error"], r.text
