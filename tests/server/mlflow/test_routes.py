"""The MLflow routes in-process: roles, audit, MLflow's error shape, both prefixes."""

from __future__ import annotations

from typing import Any

import pytest

V2 = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"


def test_roles_and_audit_apply(client_for: Any, server_ctx: Any) -> None:
    dev, viewer = client_for("developer"), client_for("viewer")
    r = dev.post(f"{V2}/experiments/create", json={"name": "exp-a"})
    assert r.status_code == 200, r.text
    exp_id = r.json()["experiment_id"]
    r = viewer.post(f"{V2}/runs/create", json={"experiment_id": exp_id})
    assert r.status_code == 403
    assert r.json()["error_code"] == "PERMISSION_DENIED"
    assert "needs the developer role" in r.json()["message"]
    run = dev.post(f"{V2}/runs/create", json={"experiment_id": exp_id, "run_name": "r"}).json()
    run_id = run["run"]["info"]["run_id"]
    assert run["run"]["info"]["artifact_uri"] == f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts"
    r = viewer.post(f"{V2}/runs/log-metric", json={"run_id": run_id, "key": "x", "value": 1})
    assert r.status_code == 403
    # the MLflow client sends no heartbeats: a silent run is not reaped as dead
    server_ctx.store.reap_dead_runs(stale_after_ms=0)
    assert server_ctx.store.get_run(run_id).status == "running"
    # a viewer reads, through either prefix
    got = viewer.get(f"{AJAX}/runs/get", params={"run_id": run_id})
    assert got.status_code == 200 and got.json()["run"]["info"]["run_name"] == "r"
    events = server_ctx.store.list_audit_events(action="runs.")
    assert {(e.action, e.actor, e.status) for e in events} >= {
        ("runs.create", "developer-user", 200),
        ("runs.create", "viewer-user", 403),
        ("runs.log_metrics", "viewer-user", 403),
    }


def test_bad_input_gets_mlflow_errors(client_for: Any) -> None:
    dev = client_for("developer")
    r = dev.post(f"{V2}/experiments/create", json={})
    assert r.status_code == 400
    assert r.json() == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "Missing value for required parameter 'name'. Give 'name' in the request.",
    }
    dev.post(f"{V2}/experiments/create", json={"name": "dup"})
    r = dev.post(f"{V2}/experiments/create", json={"name": "dup"})
    assert r.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    r = dev.get(f"{V2}/runs/get", params={"run_id": "nope"})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    run_id = dev.post(f"{V2}/runs/create", json={}).json()["run"]["info"]["run_id"]
    r = dev.post(f"{V2}/runs/log-metric", json={"run_id": run_id, "key": "x", "value": "NaN"})
    assert r.status_code == 400 and "finite number" in r.json()["message"]
    r = dev.post(f"{V2}/runs/log-batch", json={"run_id": run_id, "metrics": [{}] * 1001})
    assert r.status_code == 400 and "at most 1000 metrics" in r.json()["message"]
    r = dev.get(f"{V2}/experiments/get", params={"experiment_id": "0"})
    assert r.json()["experiment"]["name"] == "Default"
    for action in ("update", "delete", "restore"):
        r = dev.post(f"{V2}/experiments/{action}", json={"experiment_id": "0", "new_name": "x"})
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "experiment 'Default'" in r.json()["message"]
        assert "roles are granted on" in r.json()["message"]


@pytest.mark.parametrize(
    "path",
    [f"{V2}/webhooks/list", f"{AJAX}/traces", "/api/2.0/mlflow-artifacts/mpu/create"],
)
def test_unsupported_endpoints(client_for: Any, path: str) -> None:
    r = client_for("viewer").post(path, json={})
    assert r.status_code == 404
    body = r.json()
    assert body["error_code"] == "ENDPOINT_NOT_FOUND"
    assert path in body["message"] and "Coming from MLflow" in body["message"]


def test_artifact_paths_are_checked(client_for: Any) -> None:
    dev = client_for("developer")
    run_id = dev.post(f"{V2}/runs/create", json={}).json()["run"]["info"]["run_id"]
    base = f"/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts"
    assert dev.put(f"{base}/a/b.txt", content=b"abc").status_code == 200
    r = dev.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": f"0/{run_id}/artifacts"})
    assert r.json() == {"files": [{"path": "a", "is_dir": True}]}
    assert dev.get(f"{base}/a/b.txt").content == b"abc"
    r = dev.get(f"{base}/a/missing.txt")
    assert r.status_code == 404 and "no artifact file 'a/missing.txt'" in r.json()["message"]
    r = dev.put(f"/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/other/x", content=b"x")
    assert r.status_code == 404 and "<experiment id>/<run id>/artifacts/<path>" in r.text


def test_every_mlflow_write_declares_a_role() -> None:
    from fastapi.routing import APIRoute

    from mainsail.server._auth import is_permitted_route
    from mainsail.server.routers import mlflow

    reads = {
        "/experiments/search",
        "/runs/search",
        "/logged-models/search",
        "/registered-models/search",
        "/registered-models/get-latest-versions",
        "/model-versions/search",
    }
    checked = 0
    for module in [*mlflow.TRACKING, mlflow.artifacts]:
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            calls = [d.call for d in route.dependant.dependencies]
            if route.methods & {"PUT", "PATCH", "DELETE"} or (
                "POST" in route.methods and route.path not in reads
            ):
                assert is_permitted_route(calls) is not None, route.path
                checked += 1
            else:
                assert calls, f"{route.path} reads without a reader() dependency"
    assert checked >= 25
