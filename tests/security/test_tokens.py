"""Tokens: random, stored hashed, revocable; disabled users and expired tokens stop working."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from mainsail.client._context import Context
from mainsail.security import Principal, hash_token, issue_token, new_token
from mainsail.store import _tables as t


def test_tokens_are_random_and_stored_hashed(server_ctx: Context, tokens: dict[str, str]) -> None:
    assert len({new_token() for _ in range(100)}) == 100
    with server_ctx.store.db.read() as conn:
        stored = [r.token_hash for r in conn.execute(sa.select(t.tokens))]
    for tok in tokens.values():
        assert tok not in stored and hash_token(tok) in stored
    listed = server_ctx.store.list_tokens()
    assert all(not hasattr(i, "token") for i in listed)


def test_revoked_token_stops_working(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    issued = issue_token(server_ctx.store, "developer-user", ["api"])
    dev = client_for(token=issued.token)
    assert dev.get("/api/v1/whoami").json()["name"] == "developer-user"
    admin = client_for("admin")
    resp = admin.delete(f"/api/v1/tokens/{issued.info.id}")
    assert resp.status_code == 200 and resp.json()["revoked_at"] is not None
    after = dev.get("/api/v1/whoami")
    assert after.status_code == 401
    assert "revoked" in after.json()["error"]
    assert dev.post("/api/v1/experiments", json={"name": "x"}).status_code == 401
    ev = server_ctx.store.list_audit_events(action="tokens.revoke")[0]
    assert ev.actor == "admin-user" and ev.target == f"tokens/{issued.info.id}"


def test_disabled_user_and_expired_token(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    issued = issue_token(server_ctx.store, "viewer-user")
    viewer = client_for(token=issued.token)
    assert viewer.get("/api/v1/experiments").status_code == 200
    admin = client_for("admin")
    assert admin.patch("/api/v1/users/viewer-user", json={"disabled": True}).status_code == 200
    assert viewer.get("/api/v1/experiments").status_code == 401
    expired = issue_token(server_ctx.store, "developer-user", expires_at=1)
    assert client_for(token=expired.token).get("/api/v1/experiments").status_code == 401


def test_scopes_limit_what_a_token_reaches(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    predict_only = issue_token(server_ctx.store, "admin-user", ["predict"]).token
    c = client_for(token=predict_only)
    assert c.get("/api/v1/experiments").status_code == 403
    read_only = issue_token(server_ctx.store, "admin-user", ["read"]).token
    r = client_for(token=read_only)
    assert r.get("/api/v1/experiments").status_code == 200
    assert r.post("/api/v1/experiments", json={"name": "x"}).status_code == 403


def test_admin_api_creates_users_and_shows_token_once(
    server_ctx: Context, client_for: Callable[..., TestClient]
) -> None:
    admin = client_for("admin")
    resp = admin.post(
        "/api/v1/users",
        json={"name": "ci", "kind": "service", "role": "deployer", "project": "churn"},
    )
    assert resp.status_code == 201, resp.text
    token: str = resp.json()["token"]["token"]
    listed: Any = admin.get("/api/v1/tokens", params={"user": "ci"}).json()
    assert token not in str(listed) and listed[0]["prefix"] == token[:10]
    ev = server_ctx.store.list_audit_events(action="users.create")[0]
    assert token not in str(ev.after)
    me = client_for(token=token).get("/api/v1/whoami").json()
    assert me["roles"] == {"churn": "deployer"}
    assert admin.post("/api/v1/users", json={"name": "ci", "role": "viewer"}).status_code == 409
    bad = admin.post("/api/v1/users", json={"name": "x", "role": "owner"})
    assert bad.status_code == 422


def test_principal_roles_match_project_patterns() -> None:
    p = Principal("ana", {"churn-*": "developer", "*": "viewer"})
    assert p.role_in("churn-1") == "developer"
    assert p.role_in("fraud") == "viewer"
    assert p.may("viewer", "fraud") and not p.may("developer", "fraud")
    assert Principal("bob").role_in(None) is None
