"""Project scoping has no back doors: a request's project that cannot be resolved is not
"any project", a deploy needs to see the model it sends, an automation's model is in the
caller's projects, and reaping dead runs stays in the caller's projects."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient

from mainsail.client._context import Context
from mainsail.security import Principal, create_user_with_token

from ._domains import automation_spec, register_models

API = "/api/v1"


def _scoped(ctx: Context, name: str, role: str, project: str) -> str:
    return create_user_with_token(ctx.store, name, role, project=project).token


def test_an_unresolved_project_is_not_any_project() -> None:
    ana = Principal("ana", {"churn-*": "developer"})
    assert ana.may("developer", "churn-a")
    assert not ana.may("viewer", None)  # unresolved: the role is needed on every project
    assert ana.role_anywhere() == "developer"
    root = Principal("root", {"*": "viewer"})
    assert root.may("viewer", None) and root.role_in("*") == "viewer"
    # a pattern that happens to match the text '*' is not a binding on every project
    assert Principal("odd", {"?": "admin"}).role_in("*") is None


def test_a_scoped_caller_gets_403_for_a_run_it_cannot_place(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    c = client_for(token=_scoped(server_ctx, "ana", "developer", "churn-*"))
    unknown = uuid.uuid4().hex
    resp = c.post(f"{API}/runs/{unknown}/metrics", json={"points": [["m", 1.0, 0, 1]]})
    assert resp.status_code == 403, resp.text
    assert "every project" in resp.json()["error"]
    # a caller with the role on every project learns that the run does not exist
    admin = client_for("developer")
    assert admin.post(f"{API}/runs/{unknown}/end", json={"status": "finished"}).status_code == 404


def test_deploy_needs_to_see_the_model(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    register_models(server_ctx)  # clf: not a team-* project
    tok = _scoped(server_ctx, "eve", "deployer", "team-*")
    c = client_for(token=tok)
    denied = c.post(f"{API}/endpoints/team-a/deploy", json={"model": "models:/clf/1"})
    assert denied.status_code == 403, denied.text
    assert "viewer role on project 'clf'" in denied.json()["error"]
    assert server_ctx.store.list_audit_events(action="endpoints.deploy")[0].status == 403
    assert c.get(f"{API}/endpoints/team-a").status_code == 404  # nothing was deployed
    bad = c.post(f"{API}/endpoints/team-a/deploy", json={"model": "clf"})
    assert bad.status_code == 422 and "models:/churn/3" in bad.json()["error"]
    server_ctx.store.set_role("eve", "clf", "viewer")
    ok = c.post(f"{API}/endpoints/team-a/deploy", json={"model": "models:/clf/1"})
    assert ok.status_code == 201, ok.text


def test_an_automation_model_is_in_the_callers_projects(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    eve = client_for(token=_scoped(server_ctx, "eve", "deployer", "team-*"))
    # the controller would register versions of 'clf' and move its aliases
    spec = {**automation_spec("auto-x", endpoint="team-a"), "promote_alias": "champion"}
    resp = eve.put(f"{API}/automations/auto-x", json=spec)
    assert resp.status_code == 403, resp.text
    assert "deployer role on project 'clf'" in resp.json()["error"]
    ok = eve.put(f"{API}/automations/auto-x", json={**spec, "model": "team-model"})
    assert ok.status_code == 200, ok.text
    # changing the model of an existing automation to another project is refused as well
    again = eve.put(f"{API}/automations/auto-x", json=spec)
    assert again.status_code == 403


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_reaping_dead_runs_stays_in_the_callers_projects(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    store = server_ctx.store
    mine, theirs = uuid.uuid4().hex, uuid.uuid4().hex
    store.create_run(mine, "churn-a", "mine", pid=_dead_pid())
    store.create_run(theirs, "fraud", "theirs", pid=_dead_pid())
    c = client_for(token=_scoped(server_ctx, "ana", "developer", "churn-*"))
    resp = c.post(f"{API}/runs/reap")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"reaped": 1}
    assert store.run_status(mine) == "failed"
    assert store.run_status(theirs) == "running"
    assert (
        client_for(token=_scoped(server_ctx, "vic", "viewer", "*"))
        .post(f"{API}/runs/reap")
        .status_code
        == 403
    )
    assert client_for("developer").post(f"{API}/runs/reap").json() == {"reaped": 1}
    assert store.run_status(theirs) == "failed"
