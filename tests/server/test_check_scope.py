"""Release checks reach only projects the caller can view.

A developer on project ``beta`` runs checks on ``beta``'s versions; the data, the endpoint
and the baseline a check names are read with the caller's rights, so naming ``alpha``'s
dataset or endpoint is refused (403) before anything is read, and so is recording a result
said to come from ``alpha``'s data or linking a report blob the caller may not read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mainsail.client._context import Context
from mainsail.core._settings import Settings
from mainsail.rollout import deploy
from mainsail.security import create_user_with_token
from mainsail.server import create_app
from mainsail.store import ArtifactStore, Database, SqlStore

from ._domains import POLICY, register_models

API = "/api/v1"
RUN = f"{API}/models/beta/versions/1/checks"
RECORD = f"{RUN}/record"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    """A server with models alpha and beta (and their holdouts, and endpoint alpha) and a
    blob only alpha's side wrote; a client for bob, a developer on ``beta*`` (model beta,
    dataset beta-holdout) only."""

    home = tmp_path_factory.mktemp("scope")
    store = SqlStore(Database(f"sqlite:///{home / 'srv' / 'mainsail.db'}"))
    ctx = Context(Settings(home=home / "srv"), store, ArtifactStore(str(home / "art")))
    register_models(ctx, "alpha")
    register_models(ctx, "beta")
    deploy(ctx, "alpha", "models:/alpha/1")
    token = create_user_with_token(store, "bob", "developer", project="beta*").token
    with TestClient(create_app(ctx, auth=True), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, ctx.artifacts.put_bytes(b"alpha's check report")
    store.db.dispose()


@pytest.fixture
def bob(server: tuple[TestClient, str]) -> TestClient:
    return server[0]


@pytest.fixture
def blob_of_alpha(server: tuple[TestClient, str]) -> str:
    return server[1]


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


def test_a_recorded_result_names_only_viewable_data_and_reports(
    bob: TestClient, blob_of_alpha: str
) -> None:
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
    secret = blob_of_alpha
    r = bob.post(RECORD, json={**local, "report_digest": secret})  # would expose it to beta
    assert r.status_code == 403 and "may not read blob" in r.json()["error"], r.text
    assert bob.get(f"{API}/artifacts/{secret}").status_code == 403
    mine = bob.post(f"{API}/artifacts", content=b"bob's report").json()["digest"]
    assert bob.post(RECORD, json={**local, "html_digest": mine}).status_code == 201
    r = bob.post(RECORD, json={**body, "data_ref": "datasets:/alpha holdout"})
    assert r.status_code == 422 and "Expected an address" in r.json()["error"], r.text
