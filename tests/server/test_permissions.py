"""Every role × every mutating route: allowed, or a 403, never a 500; each call audited.

The mutating routes are read from the app, so a new route without ``permit(...)`` or
without an example request here fails these tests.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from mainsail.client._context import Context
from mainsail.security import ROLES, rank
from mainsail.server import create_app
from mainsail.server._auth import is_permitted_route

from ._domains import POLICY, automation_spec, seed_domains

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
D = "d" * 64

# What the issue asks for: developer logs runs and registers models; deployer moves
# aliases and deployments; admin manages users and tokens.
REQUIRED_ROLE = {
    "experiments.create": "developer",
    "runs.create": "developer",
    "runs.reap": "developer",
    "runs.heartbeat": "developer",
    "runs.update": "developer",
    "runs.end": "developer",
    "runs.log_params": "developer",
    "runs.set_tags": "developer",
    "runs.delete_tag": "developer",
    "runs.log_metrics": "developer",
    "runs.add_artifact": "developer",
    "runs.add_input": "developer",
    "datasets.create_version": "developer",
    "models.create_version": "developer",
    "models.update_version": "developer",
    "models.set_status": "deployer",
    "models.delete_version": "deployer",
    "models.set_alias": "deployer",
    "models.delete_alias": "deployer",
    # explaining reads the model: whoever may view it
    "models.explain": "viewer",
    "artifacts.upload": "developer",
    "users.create": "admin",
    "users.update": "admin",
    "users.set_role": "admin",
    "tokens.create": "admin",
    "tokens.revoke": "admin",
    # delivery, monitoring, checks, automation, jobs
    "endpoints.deploy": "deployer",
    "endpoints.rollout": "deployer",
    "endpoints.declare_winner": "deployer",
    "monitors.put": "deployer",
    "monitors.delete": "deployer",
    "monitors.run": "developer",
    "alerts.resolve": "deployer",
    "checks.run": "developer",
    "checks.record": "developer",
    "automations.put": "deployer",
    "automations.run": "deployer",
    "automations.approve": "deployer",
    "automations.enable": "deployer",
    "automations.disable": "deployer",
    "jobs.enqueue": "developer",
    # a worker on another host serves the queue through the server: it runs what is queued
    "jobs.claim": "developer",
    "jobs.heartbeat": "developer",
    "jobs.complete": "developer",
    "jobs.fail": "developer",
    # pipelines run by a client against the server record their runs and cache here
    "pipelines.create_run": "developer",
    "pipelines.finish_run": "developer",
    "pipelines.add_step": "developer",
    "pipelines.update_step": "developer",
    "pipelines.claim_cache": "developer",
    "pipelines.commit_cache": "developer",
    "pipelines.release_cache": "developer",
    "pipelines.invalidate_cache": "developer",
}

MODEL = dict(
    flavor="sklearn",
    manifest_digest=D,
    files={"m": D},
    size_bytes=1,
    signature={},
    task="classification",
    metrics={"auc": 0.9},
)
SEED_MODEL = {**MODEL, "datasets": [], "tags": {}, "card": {}, "allow_pickle": False}


def _seed(ctx: Context) -> dict[str, Any]:
    s = ctx.store
    run_id = uuid.uuid4().hex
    s.create_run(run_id, "proj", "seed")
    dv, _ = s.create_dataset_version(
        "proj",
        digest="x",
        blob_digest=D,
        format="parquet",
        row_count=1,
        schema={},
        profile={},
        parents=[],
    )
    for _ in range(3):
        s.create_model_version("proj", **SEED_MODEL)
    s.set_alias("proj", "champion", 1, "seed")
    s.create_user("someone")
    prid = uuid.uuid4().hex
    s.create_pipeline_run(prid, "flow", run_id, {}, "inprocess")
    step_run = s.add_step_run(
        pipeline_run_id=prid, step="load", cache_key=D, status="running", inputs={}, outputs={}
    )
    s.begin_cache_entry(D, "load", {}, prid)
    pipes = {"pipeline_run": prid, "step_run": step_run}
    return {"run": run_id, "dv": dv.id, **pipes, **seed_domains(ctx)}


def _examples(seed: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    run = seed["run"]
    new_run = uuid.uuid4().hex
    return {
        ("POST", "/api/v1/experiments"): {"json": {"name": "proj"}},
        ("POST", "/api/v1/runs"): {"json": {"run_id": new_run, "experiment": "proj", "name": "n"}},
        ("POST", "/api/v1/runs/reap"): {},
        ("PATCH", "/api/v1/runs/{run_id}"): {"path": {"run_id": run}, "json": {"seed": 1}},
        ("POST", "/api/v1/runs/{run_id}/params"): {
            "path": {"run_id": run},
            "json": {"params": {"a": 1}},
        },
        ("POST", "/api/v1/runs/{run_id}/tags"): {
            "path": {"run_id": run},
            "json": {"tags": {"t": 1}},
        },
        ("DELETE", "/api/v1/runs/{run_id}/tags/{key}"): {"path": {"run_id": run, "key": "t"}},
        ("POST", "/api/v1/runs/{run_id}/metrics"): {
            "path": {"run_id": run},
            "json": {"points": [["m", 1.0, 0, 1]]},
        },
        ("POST", "/api/v1/runs/{run_id}/artifacts"): {
            "path": {"run_id": run},
            "json": {"path": "a", "digest": D, "size": 1, "kind": "file"},
        },
        ("POST", "/api/v1/runs/{run_id}/inputs"): {
            "path": {"run_id": run},
            "json": {"dataset_version_id": seed["dv"]},
        },
        ("POST", "/api/v1/runs/{run_id}/heartbeat"): {"path": {"run_id": run}},
        ("POST", "/api/v1/runs/{run_id}/end"): {
            "path": {"run_id": run},
            "json": {"status": "finished"},
        },
        ("POST", "/api/v1/datasets/{name}/versions"): {
            "path": {"name": "proj"},
            "json": {
                "digest": "y",
                "blob_digest": D,
                "format": "parquet",
                "row_count": 1,
                "schema": {},
                "profile": {},
            },
        },
        ("POST", "/api/v1/models/{name}/versions"): {"path": {"name": "proj"}, "json": MODEL},
        ("PATCH", "/api/v1/models/{name}/versions/{version}"): {
            "path": {"name": "proj", "version": 1},
            "json": {"description": "d"},
        },
        ("POST", "/api/v1/models/{name}/versions/{version}/status"): {
            "path": {"name": "proj", "version": 2},
            "json": {"status": "archived"},
        },
        ("DELETE", "/api/v1/models/{name}/versions/{version}"): {
            "path": {"name": "proj", "version": 3}
        },
        ("PUT", "/api/v1/models/{name}/aliases/{alias}"): {
            "path": {"name": "proj", "alias": "challenger"},
            "json": {"version": 1},
        },
        ("DELETE", "/api/v1/models/{name}/aliases/{alias}"): {
            "path": {"name": "proj", "alias": "champion"}
        },
        ("POST", "/api/v1/artifacts"): {"content": b"blob bytes"},
        ("POST", "/api/v1/users"): {"json": {"name": f"u-{new_run[:6]}", "role": "viewer"}},
        ("PATCH", "/api/v1/users/{name}"): {
            "path": {"name": "someone"},
            "json": {"disabled": True},
        },
        ("POST", "/api/v1/users/{name}/roles"): {
            "path": {"name": "someone"},
            "json": {"project": "proj", "role": "viewer"},
        },
        ("POST", "/api/v1/tokens"): {"json": {"user": "someone"}},
        ("DELETE", "/api/v1/tokens/{token_id}"): {"path": {"token_id": 1}},
        ("POST", "/api/v1/endpoints/{name}/deploy"): {
            "path": {"name": "ep"},
            "json": {"model": "models:/clf/2", "reason": "matrix"},
        },
        ("POST", "/api/v1/endpoints/{name}/rollout/{action}"): {
            "path": {"name": "ep-canary", "action": "promote"}
        },
        ("POST", "/api/v1/endpoints/{name}/winner"): {
            "path": {"name": "ep-ab"},
            "json": {"arm": "b"},
        },
        ("PUT", "/api/v1/monitors/{endpoint}/{name}"): {
            "path": {"endpoint": "ep", "name": "latency"},
            "json": {"checks": ["operational"], "window": "30m"},
        },
        ("DELETE", "/api/v1/monitors/{endpoint}/{name}"): {
            "path": {"endpoint": "ep", "name": "default"}
        },
        ("POST", "/api/v1/monitors/{endpoint}/{name}/run"): {
            "path": {"endpoint": "ep", "name": "default"}
        },
        ("POST", "/api/v1/alerts/{alert_id}/resolve"): {"path": {"alert_id": seed.get("alert", 1)}},
        ("POST", "/api/v1/models/{name}/versions/{version}/explain"): {
            "path": {"name": "clf", "version": 1},
            "json": {
                "data": {"columns": ["a", "b", "c"], "data": [[0.1, 0.2, 0.3]]},
                "background": {"columns": ["a", "b", "c"], "data": [[0, 0, 0], [1, 1, 1]]},
            },
        },
        ("POST", "/api/v1/models/{name}/versions/{version}/checks"): {
            "path": {"name": "clf", "version": 2},
            "json": {"data": "datasets:/clf-holdout/1", "policy": POLICY},
        },
        ("POST", "/api/v1/models/{name}/versions/{version}/checks/record"): {
            "path": {"name": "clf", "version": 2},
            "json": {
                "verdict": "blessed",
                "data_ref": "dataframe sha256:0123456789abcdef",
                "policy": POLICY,
                "checks": [
                    {"name": "accuracy", "kind": "metrics", "status": "pass", "threshold": 0.6}
                ],
            },
        },
        ("PUT", "/api/v1/automations/{name}"): {
            "path": {"name": "auto-2"},
            "json": automation_spec("auto-2"),
        },
        ("POST", "/api/v1/automations/{name}/run"): {
            "path": {"name": "auto"},
            "json": {"reason": "matrix"},
        },
        ("POST", "/api/v1/automations/{name}/approve"): {"path": {"name": "auto"}},
        ("POST", "/api/v1/automations/{name}/disable"): {"path": {"name": "auto"}},
        ("POST", "/api/v1/automations/{name}/enable"): {"path": {"name": "auto"}},
        ("POST", "/api/v1/jobs"): {"json": {"kind": "pipeline", "payload": {"pipeline": "x:y"}}},
        ("POST", "/api/v1/jobs/claim"): {
            "json": {
                "queues": ["default"],
                "kinds": ["pipeline"],
                "worker_id": "w",
                "lease_ms": 1000,
            }
        },
        ("POST", "/api/v1/jobs/{job_id}/heartbeat"): {
            "path": {"job_id": 1},
            "json": {"worker_id": "w", "lease_ms": 1000},
        },
        ("POST", "/api/v1/jobs/{job_id}/complete"): {
            "path": {"job_id": 1},
            "json": {"worker_id": "w", "result": {"ok": True}},
        },
        ("POST", "/api/v1/jobs/{job_id}/fail"): {
            "path": {"job_id": 1},
            "json": {"worker_id": "w", "error": "boom"},
        },
        ("POST", "/api/v1/pipeline-runs"): {
            "json": {"id": new_run, "pipeline": "flow", "executor": "inprocess"}
        },
        ("POST", "/api/v1/pipeline-runs/{run_id}/finish"): {
            "path": {"run_id": seed.get("pipeline_run", "p")},
            "json": {"status": "succeeded"},
        },
        ("POST", "/api/v1/pipeline-runs/{run_id}/step-runs"): {
            "path": {"run_id": seed.get("pipeline_run", "p")},
            "json": {"step": "train", "cache_key": "", "status": "skipped"},
        },
        ("PATCH", "/api/v1/step-runs/{step_run_id}"): {
            "path": {"step_run_id": seed.get("step_run", 1)},
            "json": {"status": "succeeded", "finished_at": 1},
        },
        ("POST", "/api/v1/step-cache/{key}/claim"): {
            "path": {"key": D},
            "json": {"step": "load", "components": {}, "pipeline_run_id": new_run},
        },
        ("POST", "/api/v1/step-cache/{key}/commit"): {
            "path": {"key": D},
            "json": {"outputs": {"output": {"digest": D, "format": "json", "size": 1}}},
        },
        ("POST", "/api/v1/step-cache/{key}/release"): {
            "path": {"key": D},
            "json": {"pipeline_run_id": new_run},
        },
        ("POST", "/api/v1/step-cache/{key}/invalidate"): {"path": {"key": D}},
    }


def mutating_routes(app: Any) -> list[tuple[str, str, APIRoute]]:
    """Every mutating route the app serves: from the routers, checked against its OpenAPI."""
    from mainsail.server import API_PREFIX, routers

    out = []
    for module in routers.ALL:
        for route in module.router.routes:
            if isinstance(route, APIRoute):
                path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)  # as OpenAPI: no ':path'
                for method in sorted(route.methods & MUTATING):
                    out.append((method, API_PREFIX + path, route))
    documented = {
        (method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        for method in ops
        if method.upper() in MUTATING
    }
    assert documented == {(m, p) for m, p, _ in out}, "a mutating route outside routers.ALL"
    return out


def _marker(route: APIRoute) -> tuple[str, str] | None:
    return is_permitted_route([d.call for d in route.dependant.dependencies])


def test_every_mutating_route_is_permitted_and_audited_by_declaration(
    server_ctx: Context,
) -> None:
    app = create_app(server_ctx)
    routes = mutating_routes(app)
    assert len(routes) >= len(REQUIRED_ROLE)
    examples = _examples({"run": "r", "dv": 1})
    for method, path, route in routes:
        marker = _marker(route)
        assert marker is not None, f"{method} {path} does not declare permit(action, role)"
        action, role = marker
        assert REQUIRED_ROLE.get(action) == role, (
            f"{action}: role {role}, expected {REQUIRED_ROLE.get(action)}"
        )
        assert (method, path) in examples, f"add an example request for {method} {path}"


def _call(client: TestClient, method: str, path: str, ex: dict[str, Any]) -> Any:
    url = path.format(**ex.get("path", {}))
    return client.request(method, url, json=ex.get("json"), content=ex.get("content"))


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(
    role: str, server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    """Each role calls every mutating route: 403 below the required role, else no 403/5xx."""
    examples = _examples(_seed(server_ctx))
    client = client_for(role)
    app = client.app
    store = server_ctx.store
    # Calls that close or remove things go last so the others find what they need.
    routes = sorted(mutating_routes(app), key=lambda r: r[0] == "DELETE" or r[1].endswith("/end"))
    for method, path, route in routes:
        action, required = _marker(route)  # type: ignore[misc]
        before = len(store.list_audit_events(limit=10000))
        resp = _call(client, method, path, examples[(method, path)])
        assert resp.status_code < 500, f"{role} {method} {path}: {resp.status_code} {resp.text}"
        if rank(role) >= rank(required):
            assert resp.status_code < 400, f"{role} {method} {path}: {resp.status_code} {resp.text}"
        else:
            assert resp.status_code == 403, f"{role} {method} {path}: {resp.status_code}"
            assert resp.json()["type"] == "PermissionDeniedError"
        events = store.list_audit_events(limit=10000)
        assert len(events) == before + 1, f"{method} {path} left {len(events) - before} events"
        ev = events[0]
        assert (ev.action, ev.actor, ev.status) == (action, f"{role}-user", resp.status_code)
        assert ev.client and ev.ts > 0 and ev.target


def test_unauthenticated_mutations_are_401_and_audited(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    client = client_for(None)
    resp = client.post("/api/v1/experiments", json={"name": "x"})
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"
    ev = server_ctx.store.list_audit_events()[0]
    assert (ev.actor, ev.action, ev.status) == ("unauthenticated", "experiments.create", 401)
    assert client.get("/api/v1/experiments").status_code == 401
    assert client.get("/api/v1/health/live").status_code == 200  # health stays open


def test_roles_are_scoped_per_project(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    from mainsail.security import create_user_with_token

    seed = _seed(server_ctx)
    tok = create_user_with_token(server_ctx.store, "ana", "developer", project="churn-*").token
    client = client_for(token=tok)
    ok = client.post(
        "/api/v1/runs", json={"run_id": "a" * 32, "experiment": "churn-1", "name": "x"}
    )
    assert ok.status_code == 201
    denied = client.post(f"/api/v1/runs/{seed['run']}/metrics", json={"points": [["m", 1, 0, 1]]})
    assert denied.status_code == 403
    # the run's project is looked up from its id: the refusal does not name it
    assert "needs the developer role on the project this belongs to" in denied.json()["error"]
    assert "'proj'" not in denied.json()["error"]
    assert client.get(f"/api/v1/runs/{seed['run']}").status_code == 403  # no viewer role there
    assert client.get("/api/v1/runs/" + "a" * 32).status_code == 200
    # listings show only what the caller may see
    assert [e["name"] for e in client.get("/api/v1/experiments").json()] == ["churn-1"]
    assert [r["id"] for r in client.get("/api/v1/runs").json()] == ["a" * 32]
    assert client.get("/api/v1/runs", params={"experiment": "proj"}).status_code == 403
    assert client.get("/api/v1/models").json() == []
    assert client.get("/api/v1/datasets").json() == []
    assert client.get("/api/v1/users").status_code == 403


def test_audit_records_before_and_after(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    _seed(server_ctx)
    client = client_for("deployer")
    assert (
        client.put("/api/v1/models/proj/aliases/champion", json={"version": 2}).status_code == 200
    )
    ev = server_ctx.store.list_audit_events(action="models.set_alias")[0]
    assert (ev.target, ev.before, ev.after) == (
        "models/proj@champion",
        {"version": 1, "require_checks": False},
        {"version": 2, "require_checks": False},
    )
    # the alias history names the authenticated caller, not a name the client sent
    assert server_ctx.store.alias_history("proj", "champion")[-1].actor == "deployer-user"


def test_a_body_that_fails_validation_is_audited_as_422(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    client = client_for("developer")
    assert client.post("/api/v1/jobs", json={"kind": 5}).status_code == 422
    ev = server_ctx.store.list_audit_events(action="jobs.enqueue")[0]
    assert ev.status == 422


@pytest.mark.parametrize("role", ["developer", "deployer", "admin"])
def test_a_controller_only_job_kind_is_refused_through_the_api(
    role: str, server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    """``automation.retrain`` retrains, checks and deploys: only the automation controller
    enqueues it (after its guards), never a caller of POST /jobs, whatever its role."""
    client = client_for(role)
    resp = client.post(
        "/api/v1/jobs", json={"kind": "automation.retrain", "payload": {"automation": "auto"}}
    )
    assert resp.status_code == 403, resp.text
    assert resp.json()["type"] == "PermissionDeniedError"
    assert "mainsail automation run" in resp.json()["error"]
    assert server_ctx.store.list_job_rows(kind="automation.retrain") == []
    ev = server_ctx.store.list_audit_events(action="jobs.enqueue")[0]
    assert (ev.actor, ev.status) == (f"{role}-user", 403)
    # an ordinary kind still needs only the developer role
    ok = client.post("/api/v1/jobs", json={"kind": "pipeline", "payload": {"pipeline": "x:y"}})
    assert ok.status_code == 201, ok.text


def test_a_job_kind_carries_the_role_it_needs(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    from mainsail.jobs import register_handler, unregister_handler

    register_handler("acme.ship", "acme:ship", role="deployer")
    try:
        body = {"kind": "acme.ship", "payload": {}}
        denied = client_for("developer").post("/api/v1/jobs", json=body)
        assert denied.status_code == 403
        assert "kind 'acme.ship' needs the deployer role" in denied.json()["error"]
        assert client_for("deployer").post("/api/v1/jobs", json=body).status_code == 201
    finally:
        unregister_handler("acme.ship")
