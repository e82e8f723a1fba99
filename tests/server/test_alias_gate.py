"""The ``require_checks`` gate of an alias: changing it is an admin decision with its own
audit event, and turning it on checks the version the alias points at."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from mainsail.client._context import Context

from .test_permissions import SEED_MODEL

API = "/api/v1"


def _seed(ctx: Context) -> None:
    for _ in range(2):
        ctx.store.create_model_version("m", **SEED_MODEL)
    # version 1 blessed by checks Mainsail computed; version 2 never checked
    ctx.store.create_check_result(
        "m", 1, verdict="blessed", policy={}, checks=[], summary={"reason": "ok"}
    )


def test_lifting_the_gate_needs_admin_and_is_audited(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    _seed(server_ctx)
    admin, deployer = client_for("admin"), client_for("deployer")
    url = f"{API}/models/m/aliases/champion"
    on = admin.put(url, json={"version": 1, "require_checks": True})
    assert on.status_code == 200, on.text
    # a deployer may not lift the gate and move the alias past it in one PUT
    resp = deployer.put(url, json={"version": 2, "require_checks": False})
    assert resp.status_code == 403, resp.text
    assert "admin role on project 'm' to change the require_checks gate" in resp.json()["error"]
    assert server_ctx.store.get_model_version("m", alias="champion").version == 1
    assert server_ctx.store.alias_gate("m", "champion") is True
    ev = server_ctx.store.list_audit_events(action="models.set_alias")[0]
    assert (ev.actor, ev.status) == ("deployer-user", 403)
    assert ev.after == {"version": 2, "require_checks": False}
    # nor turn one on (it is the admin's decision either way)
    other = deployer.put(
        f"{API}/models/m/aliases/staging", json={"version": 1, "require_checks": True}
    )
    assert other.status_code == 403
    # sending the gate as it is, is no change
    same = deployer.put(url, json={"version": 1, "require_checks": True})
    assert same.status_code == 200, same.text
    # an admin lifts it: its own audit event, and the alias event records it too
    lifted = admin.put(url, json={"version": 2, "require_checks": False})
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["require_checks"] is False
    gate = server_ctx.store.list_audit_events(action="models.set_gate")
    assert [(e.actor, e.before, e.after) for e in gate] == [
        ("admin-user", {"require_checks": True}, {"require_checks": False, "version": 2}),
        ("admin-user", {"require_checks": None}, {"require_checks": True, "version": 1}),
    ]
    moved = server_ctx.store.list_audit_events(action="models.set_alias")[0]
    assert moved.before == {"version": 1, "require_checks": True}
    assert moved.after == {"version": 2, "require_checks": False}


def test_turning_the_gate_on_checks_the_version_it_points_at(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    _seed(server_ctx)
    admin = client_for("admin")
    url = f"{API}/models/m/aliases/champion"
    assert admin.put(url, json={"version": 2}).status_code == 200
    resp = admin.put(url, json={"version": 2, "require_checks": True})
    assert resp.status_code == 409, resp.text
    assert "Turning on the require_checks gate" in resp.json()["error"]
    assert "version 2 does not have one" in resp.json()["error"]
    assert server_ctx.store.alias_gate("m", "champion") is False
    assert admin.put(url, json={"version": 1, "require_checks": True}).status_code == 200
