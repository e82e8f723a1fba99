"""The delivery, monitoring, checks, automation, pipeline and job routes, end to end."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mainsail.client._context import Context
from mainsail.pipelines import run_pipeline
from mainsail.registry import set_alias
from mainsail.security import create_user_with_token

from ._domains import POLICY, add_alert, automation_spec, register_models

API = "/api/v1"


def _variants(client: TestClient, ep: str) -> list[tuple[int, float]]:
    body = client.get(f"{API}/endpoints/{ep}").json()
    return [(v["version"], v["weight"]) for v in body["variants"]]


def test_deploy_steer_and_read_an_endpoint(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    register_models(server_ctx)
    c = client_for("deployer")
    r = c.post(f"{API}/endpoints/churn/deploy", json={"model": "models:/clf/1"})
    assert r.status_code == 201, r.text
    assert (r.json()["strategy"], r.json()["state"]) == ("direct", "promoted")
    assert r.json()["source"] == "api:deployer-user"
    ep = c.get(f"{API}/endpoints/churn").json()
    assert ep["revision"] == 1 and len(ep["history"]) == 1
    assert _variants(c, "churn") == [(1, 100)]

    canary = {"model": "models:/clf/2", "strategy": "canary", "spec": {"steps": [50]}}
    r = c.post(f"{API}/endpoints/churn/deploy", json={**canary, "reason": "try v2"})
    assert r.status_code == 201, r.text
    assert (r.json()["strategy"], r.json()["state"]) == ("canary", "progressing")
    latest = c.get(f"{API}/endpoints/churn/rollouts/latest").json()
    assert latest["id"] == r.json()["id"]
    assert sorted(v for v, _ in _variants(c, "churn")) == [1, 2]
    busy = c.post(f"{API}/endpoints/churn/deploy", json=canary)
    assert busy.status_code == 409 and "already has a canary rollout" in busy.json()["error"]
    for action, state in (("pause", "paused"), ("resume", "progressing"), ("promote", "promoted")):
        r = c.post(f"{API}/endpoints/churn/rollout/{action}")
        assert (r.status_code, r.json()["state"]) == (200, state), r.text
    assert _variants(c, "churn") == [(2, 100)]
    r = c.post(f"{API}/endpoints/churn/rollout/rollback")  # no active rollout: previous revision
    assert (r.status_code, r.json()["state"]) == (200, "rolled_back"), r.text
    assert _variants(c, "churn") == [(1, 100)]
    assert c.post(f"{API}/endpoints/churn/deploy", json=canary).status_code == 201
    assert c.post(f"{API}/endpoints/churn/rollout/abort").json()["state"] == "aborted"
    assert _variants(c, "churn") == [(1, 100)]
    rollouts = c.get(f"{API}/endpoints/churn/rollouts").json()
    assert [x["strategy"] for x in rollouts][:2] == ["canary", "direct"]  # newest first
    assert [e["name"] for e in c.get(f"{API}/endpoints").json()] == ["churn"]

    # audit: who deployed what, before and after
    ev = server_ctx.store.list_audit_events(action="endpoints.deploy")[-1]
    assert ev.actor == "deployer-user" and ev.target == "endpoints/churn"
    assert ev.before == {"variants": None} and ev.after["strategy"] == "direct"
    steer = server_ctx.store.list_audit_events(action="endpoints.rollout")
    assert {e.after["action"] for e in steer} == {"pause", "resume", "promote", "rollback", "abort"}


def test_endpoint_errors_are_clear_4xx(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    register_models(server_ctx)
    c = client_for("deployer")
    assert c.get(f"{API}/endpoints/nope").status_code == 404
    assert c.get(f"{API}/endpoints/nope/rollouts/latest").status_code == 404
    assert c.post(f"{API}/endpoints/nope/rollout/pause").status_code == 404
    r = c.post(f"{API}/endpoints/churn/deploy", json={"model": "models:/missing/1"})
    assert r.status_code == 404
    r = c.post(f"{API}/endpoints/churn/deploy", json={"model": "models:/clf/1", "strategy": "x"})
    assert r.status_code == 422 and "canary" in r.json()["error"]
    r = c.post(f"{API}/endpoints/bad%20name/deploy", json={"model": "models:/clf/1"})
    assert r.status_code == 422 and "Endpoint name" in r.json()["error"]
    c.post(f"{API}/endpoints/churn/deploy", json={"model": "models:/clf/1"})
    r = c.post(
        f"{API}/endpoints/churn/deploy",
        json={"model": "models:/clf/2", "strategy": "canary", "spec": {"stepWeight": "x"}},
    )
    assert r.status_code == 422 and "Valid fields are" in r.json()["error"]
    assert c.post(f"{API}/endpoints/churn/rollout/pause").status_code == 409
    assert c.post(f"{API}/endpoints/churn/rollout/jump").status_code == 422
    assert c.get(f"{API}/endpoints/churn/shadow-report").status_code == 409
    assert c.get(f"{API}/endpoints/churn/ab-report", params={"alpha": 2}).status_code == 422
    dev = client_for("developer")
    r = dev.post(f"{API}/endpoints/churn/deploy", json={"model": "models:/clf/2"})
    assert r.status_code == 403


def test_ab_winner_and_report(server_ctx: Context, client_for: Callable[..., TestClient]) -> None:
    register_models(server_ctx)
    c = client_for("deployer")
    c.post(f"{API}/endpoints/exp/deploy", json={"model": "models:/clf/1"})
    r = c.post(
        f"{API}/endpoints/exp/deploy",
        json={"model": "models:/clf/2", "strategy": "ab", "spec": {"weights": [80, 20]}},
    )
    assert r.status_code == 201, r.text
    report = c.get(f"{API}/endpoints/exp/ab-report").json()
    assert report["arms"] == ["a", "b"] and report["requests"] == {"a": 0, "b": 0}
    bad = c.post(f"{API}/endpoints/exp/winner", json={"arm": "c"})
    assert bad.status_code == 409 and "Valid arms are: a, b" in bad.json()["error"]
    assert c.post(f"{API}/endpoints/exp/winner", json={"arm": "b"}).json()["state"] == "promoted"
    assert _variants(c, "exp") == [(2, 100)]


def test_project_scoped_deployer(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    register_models(server_ctx)
    tok = create_user_with_token(server_ctx.store, "eve", "deployer", project="team-*").token
    server_ctx.store.set_role("eve", "clf", "viewer")  # a deploy needs to see the model
    c = client_for(token=tok)
    ok = c.post(f"{API}/endpoints/team-a/deploy", json={"model": "models:/clf/1"})
    assert ok.status_code == 201
    assert (
        c.post(f"{API}/endpoints/other/deploy", json={"model": "models:/clf/1"}).status_code == 403
    )
    client_for("admin").post(f"{API}/endpoints/other/deploy", json={"model": "models:/clf/1"})
    assert [e["name"] for e in c.get(f"{API}/endpoints").json()] == ["team-a"]
    assert c.get(f"{API}/endpoints/other").status_code == 403


def test_monitor_lifecycle(server_ctx: Context, client_for: Callable[..., TestClient]) -> None:
    c = client_for("deployer")
    r = c.put(f"{API}/monitors/churn/default", json={"window": "2h", "interval": "10m"})
    assert r.status_code == 200, r.text
    assert (r.json()["spec"]["window"], r.json()["interval_s"]) == ("2h", 600)
    r = c.put(f"{API}/monitors/churn/default", json={"window": "1h", "checks": ["drift"]})
    assert r.json()["spec"]["checks"] == ["drift"]
    ev = server_ctx.store.list_audit_events(action="monitors.put")[0]
    assert ev.before["window"] == "2h" and ev.after["window"] == "1h"
    assert c.get(f"{API}/monitors/churn/default").json()["spec"]["window"] == "1h"
    assert [m["name"] for m in c.get(f"{API}/monitors").json()] == ["default"]
    run = client_for("developer").post(f"{API}/monitors/churn/default/run")
    assert run.status_code == 200, run.text
    assert run.json()["status"] == "no_data"  # nothing was served yet
    results = c.get(f"{API}/monitors/churn/default/results").json()
    assert [x["status"] for x in results] == ["no_data"]
    bad = c.put(f"{API}/monitors/churn/x", json={"checks": ["nope"]})
    assert bad.status_code == 422 and "drift, quality, performance, operational" in bad.text
    assert c.put(f"{API}/monitors/churn/x", json={"window": "soon"}).status_code == 422
    assert (
        c.put(f"{API}/monitors/churn/x", json={"notifiers": [{"type": "pigeon"}]}).status_code
        == 422
    )
    assert c.put(f"{API}/monitors/churn/x", json={"drift_share": 2}).status_code == 422
    bad = c.put(f"{API}/monitors/churn/x", json={"tests": {"a": "vibes"}})
    assert bad.status_code == 422 and "Valid tests are" in bad.json()["error"]
    assert client_for("developer").put(f"{API}/monitors/churn/y", json={}).status_code == 403
    assert c.delete(f"{API}/monitors/churn/default").status_code == 204
    assert c.get(f"{API}/monitors/churn/default").status_code == 404
    assert c.delete(f"{API}/monitors/churn/default").status_code == 404
    assert c.post(f"{API}/monitors/churn/default/run").status_code == 404
    metrics = c.get(f"{API}/metrics/monitoring")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")


def test_alerts_list_and_resolve(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    mine, theirs = add_alert(server_ctx, "team-a"), add_alert(server_ctx, "other")
    c = client_for("deployer")
    assert {a["id"] for a in c.get(f"{API}/alerts", params={"state": "firing"}).json()} == {
        mine,
        theirs,
    }
    assert [a["id"] for a in c.get(f"{API}/alerts", params={"endpoint": "team-a"}).json()] == [mine]
    assert c.get(f"{API}/alerts", params={"state": "open"}).status_code == 422
    tok = create_user_with_token(server_ctx.store, "eve", "deployer", project="team-*").token
    eve = client_for(token=tok)
    assert [a["id"] for a in eve.get(f"{API}/alerts").json()] == [mine]
    assert eve.post(f"{API}/alerts/{theirs}/resolve").status_code == 403
    r = eve.post(f"{API}/alerts/{mine}/resolve")
    assert (r.status_code, r.json()["state"]) == (200, "resolved")
    assert r.json()["evidence"]["resolved_by"] == "manual"
    ev = server_ctx.store.list_audit_events(action="alerts.resolve")[0]
    assert (ev.actor, ev.before, ev.after) == ("eve", {"state": "firing"}, {"state": "resolved"})
    assert [a["id"] for a in c.get(f"{API}/alerts", params={"state": "resolved"}).json()] == [mine]
    assert c.post(f"{API}/alerts/999/resolve").status_code == 404


def test_automation_put_run_and_trail(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    c = client_for("deployer")
    spec = automation_spec("retrain", endpoint="churn")
    r = c.put(f"{API}/automations/retrain", json=spec)
    assert r.status_code == 200, r.text
    assert (r.json()["endpoint"], r.json()["enabled"], r.json()["spec"]["cooldown"]) == (
        "churn",
        True,
        21600.0,
    )
    no_name = {k: v for k, v in spec.items() if k != "name"}
    assert (
        c.put(f"{API}/automations/retrain", json={**no_name, "cooldown": "1h"}).status_code == 200
    )
    assert c.get(f"{API}/automations/retrain").json()["spec"]["cooldown"] == 3600.0
    assert [a["name"] for a in c.get(f"{API}/automations").json()] == ["retrain"]
    run = c.post(f"{API}/automations/retrain/run", json={"reason": "new labels"})
    assert run.status_code == 202, run.text
    assert (run.json()["trigger"], run.json()["status"]) == ("manual", "requested")
    assert run.json()["detail"] == {"reason": "new labels", "actor": "deployer-user"}
    assert c.post(f"{API}/automations/retrain/approve").json()["trigger"] == "approval"
    assert c.post(f"{API}/automations/retrain/disable").json()["enabled"] is False
    assert c.post(f"{API}/automations/retrain/enable").json()["enabled"] is True
    trail = c.get(f"{API}/automations/retrain/events").json()
    assert [(e["trigger"], e["status"]) for e in trail] == [
        ("manual", "requested"),
        ("approval", "requested"),
    ]
    ev = server_ctx.store.list_audit_events(action="automations.disable")[0]
    assert (ev.before, ev.after) == ({"enabled": True}, {"enabled": False})
    # bad input
    mismatch = c.put(f"{API}/automations/retrain", json={**spec, "name": "other"})
    assert mismatch.status_code == 422 and "path names" in mismatch.json()["error"]
    bad = c.put(f"{API}/automations/x", json={**spec, "name": "x", "triggers": []})
    assert bad.status_code == 422
    assert c.put(f"{API}/automations/x", json={"name": "x"}).status_code == 422
    assert c.get(f"{API}/automations/nope").status_code == 404
    assert c.post(f"{API}/automations/nope/run").status_code == 404
    # moving it to an endpoint outside the caller's projects is refused
    tok = create_user_with_token(server_ctx.store, "eve", "deployer", project="team-*").token
    eve = client_for(token=tok)
    moved = eve.put(f"{API}/automations/retrain", json={**spec, "endpoint": "team-a"})
    assert moved.status_code == 403
    assert eve.post(f"{API}/automations/retrain/run").status_code == 403
    assert eve.get(f"{API}/automations").json() == []


def test_checks_over_http(server_ctx: Context, client_for: Callable[..., TestClient]) -> None:
    register_models(server_ctx)
    set_alias(server_ctx, "clf", "champion", 2)
    c = client_for("developer")
    url = f"{API}/models/clf/versions/1/checks"
    body = {"data": "datasets:/clf-holdout/1", "policy": POLICY, "baseline": "@champion"}
    r = c.post(url, json=body)
    assert r.status_code == 201, r.text
    res = r.json()
    assert res["model"] == "clf" and res["version"] == 1 and res["baseline_version"] == 2
    assert res["verdict"] == "blessed", res["reason"]  # v1 sees every feature; v2 only 'a'
    assert "metrics.accuracy" in {o["name"] for o in res["checks"]}
    listed = c.get(url).json()
    assert [x["id"] for x in listed] == [res["id"]]
    assert c.get(f"{API}/checks/{res['id']}").json()["verdict"] == "blessed"
    assert c.get(f"{API}/checks/999").status_code == 404
    # bad input: clear 4xx
    assert c.post(url, json={**body, "data": "/etc/passwd"}).status_code == 422
    assert c.post(url, json={**body, "data": "datasets:/nope/1"}).status_code == 404
    r = c.post(url, json={**body, "policy": {"vibes": {}}})
    assert r.status_code == 422 and "Valid checks are" in r.json()["error"]
    r = c.post(url, json={**body, "baseline": "models:/other/1"})
    assert r.status_code == 422 and "not a version of model 'clf'" in r.json()["error"]
    r = c.post(url, json={**body, "label": "nope"})
    assert r.status_code == 422 and "no label column" in r.json()["error"]
    assert c.post(f"{API}/models/clf/versions/9/checks", json=body).status_code == 404
    assert client_for("viewer").post(url, json=body).status_code == 403


FLOW = """
import mainsail

@mainsail.step
def load(n: int) -> list:
    return list(range(n))

@mainsail.step
def total(xs: list) -> int:
    return sum(xs)

@mainsail.pipeline
def flow(n: int = 4):
    return {"total": total(load(n))}
"""


def test_pipeline_runs_and_jobs(
    server_ctx: Context,
    client_for: Callable[..., TestClient],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "srvflow.py").write_text(FLOW)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    mod = importlib.import_module("srvflow")
    try:
        first = run_pipeline(server_ctx, mod.flow, progress=False)
        second = run_pipeline(server_ctx, mod.flow, params={"n": 5}, progress=False)
    finally:
        sys.modules.pop("srvflow", None)
    c = client_for("viewer")
    runs = c.get(f"{API}/pipeline-runs").json()
    assert [r["id"] for r in runs] == [second.id, first.id]
    got = c.get(f"{API}/pipeline-runs/{second.id[:8]}").json()
    assert got["status"] == "succeeded" and {s["step"] for s in got["steps"]} == {"load", "total"}
    why = c.get(f"{API}/pipeline-runs/{second.id}/why-rerun").json()
    assert {w["step"] for w in why} == {"load", "total"}
    assert any("n" in " ".join(w["changes"] + w["reason"]) for w in why)
    assert c.get(f"{API}/pipeline-runs/{'0' * 32}").status_code == 404
    bad = c.get(f"{API}/pipeline-runs/not-hex")  # the same clear 404 as embedded
    assert (bad.status_code, bad.json()["type"]) == (404, "PipelineRunNotFoundError")

    dev = client_for("developer")
    job = {"kind": "pipeline", "payload": {"pipeline": "srvflow:flow"}, "dedupe_key": "k"}
    r = dev.post(f"{API}/jobs", json=job)
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["payload"]) == ("queued", job["payload"])
    assert dev.post(f"{API}/jobs", json=job).json()["id"] == r.json()["id"]  # deduplicated
    assert c.get(f"{API}/jobs/{r.json()['id']}").json()["kind"] == "pipeline"
    assert [j["id"] for j in c.get(f"{API}/jobs", params={"status": "queued"}).json()] == [
        r.json()["id"]
    ]
    assert c.get(f"{API}/jobs/999").status_code == 404
    assert c.get(f"{API}/jobs", params={"status": "lost"}).status_code == 422
    assert dev.post(f"{API}/jobs", json={"kind": ""}).status_code == 422
    assert dev.post(f"{API}/jobs", json={"kind": "x", "max_attempts": 0}).status_code == 422
    assert c.post(f"{API}/jobs", json=job).status_code == 403
    ev = [e for e in server_ctx.store.list_audit_events(action="jobs.enqueue") if e.status == 201][
        0
    ]
    assert ev.target == f"jobs/{r.json()['id']}" and ev.after["kind"] == "pipeline"


def test_a_real_server_process_deploys_monitors_and_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mainsail server`` over its own store: the SDK context is the server's (no rebinding)."""
    import re

    import httpx

    import mainsail
    from mainsail.server._process import ServerProcess

    from ._domains import frame

    with ServerProcess(tmp_path / "srv", "--bootstrap-admin", "--no-controllers") as srv:
        match = re.search(r"^ms_\S+$", srv.output(), re.M)
        assert match is not None, srv.output()
        token = match.group(0)
        monkeypatch.setenv("MAINSAIL_TRACKING_URI", srv.url)
        monkeypatch.setenv("MAINSAIL_TOKEN", token)
        monkeypatch.setenv("MAINSAIL_HOME", str(tmp_path / "client"))
        mainsail.reset()
        try:  # register through the REST store, as a team member would
            from sklearn.linear_model import LogisticRegression

            df = frame(200)
            X = df[["a", "b", "c"]]
            mainsail.register_model(
                LogisticRegression().fit(X, df["y"]), name="clf", input_example=X.head()
            )
            mainsail.log_dataset(frame(150, 3), name="clf-holdout")
        finally:
            mainsail.reset()
        with httpx.Client(
            base_url=f"{srv.url}{API}", headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as c:
            r = c.post("/endpoints/clf/deploy", json={"model": "models:/clf/1"})
            assert r.status_code == 201, r.text
            assert r.json()["source"] == "api:admin"
            assert c.get("/endpoints/clf").json()["variants"][0]["version"] == 1
            assert c.put("/monitors/clf/default", json={"window": "1h"}).status_code == 200
            assert c.post("/monitors/clf/default/run").json()["status"] == "no_data"
            check = c.post(
                "/models/clf/versions/1/checks",
                json={"data": "datasets:/clf-holdout/1", "policy": POLICY},
            )
            assert check.status_code == 201, check.text
            assert check.json()["verdict"] == "blessed"
            assert c.get("/models/clf/versions/1/checks").json()[0]["id"] == check.json()["id"]
            assert c.post("/jobs", json={"kind": "pipeline"}).status_code == 201
            actions = {e["action"] for e in c.get("/audit", params={"limit": 100}).json()}
            assert {"endpoints.deploy", "monitors.put", "checks.run", "jobs.enqueue"} <= actions
        assert srv.output().count(token) == 1  # never logged


def test_a_scoped_reader_sees_its_own_rollouts_first(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    from ._domains import seed_domains

    seed_domains(server_ctx)  # ep is deployed first; ep-canary and ep-ab have newer rollouts
    token = create_user_with_token(server_ctx.store, "ep-viewer", "viewer", project="ep").token
    mine = client_for(token=token).get(f"{API}/rollouts", params={"limit": 1}).json()
    assert [r["endpoint"] for r in mine] == ["ep"]
    every = client_for("admin").get(f"{API}/rollouts", params={"limit": 1}).json()
    assert [r["endpoint"] for r in every] != ["ep"]  # the newest overall is another endpoint's
