"""``mainsail users|tokens|audit`` on the embedded store: tokens shown once, every change audited."""

from __future__ import annotations

import re
from collections.abc import Callable

import orjson

Cli = Callable[..., tuple[int, str, str]]


def test_users_tokens_audit_on_the_embedded_store(cli: Cli) -> None:
    code, out, err = cli("users", "create", "admin", "--role", "admin")
    assert code == 0, err
    first = re.search(r"^ms_\S+$", out, re.M)
    assert first is not None
    code, out, _ = cli(
        "users",
        "create",
        "ci",
        "--role",
        "deployer",
        "--project",
        "churn",
        "--service",
        "--scope",
        "predict",
    )
    assert code == 0 and "scopes predict" in out
    code, out, _ = cli("users", "grant", "ci", "--role", "viewer", "--project", "*")
    assert code == 0 and "churn=deployer" in out and "*=viewer" in out
    code, out, err = cli("users", "grant", "ci", "--role", "owner")
    assert code == 1 and "Unknown role 'owner'" in err
    code, out, _ = cli("tokens", "create", "ci", "--name", "deploy-bot", "--expires-days", "30")
    second = re.search(r"^ms_\S+$", out, re.M)
    assert code == 0 and second is not None
    code, out, _ = cli("tokens", "list", "--json")
    listed = orjson.loads(out)
    assert [t["user"] for t in listed] == ["admin", "ci", "ci"]
    assert first.group(0) not in out and second.group(0) not in out
    code, out, _ = cli("tokens", "revoke", str(listed[-1]["id"]))
    assert code == 0
    code, out, _ = cli("tokens", "list", "--user", "ci", "--json")
    assert orjson.loads(out)[-1]["revoked_at"] is not None
    code, out, _ = cli("users", "disable", "ci")
    assert code == 0
    code, out, _ = cli("users", "list", "--json")
    assert {u["name"]: u["disabled"] for u in orjson.loads(out)} == {"admin": False, "ci": True}
    code, out, _ = cli("audit", "--json")
    actions = [e["action"] for e in orjson.loads(out)]
    assert actions == [
        "users.update",
        "tokens.revoke",
        "tokens.create",
        "users.set_role",
        "users.create",
        "users.create",
    ]
    code, out, _ = cli("audit", "--action", "tokens.")
    assert code == 0 and "tokens.revoke" in out
    code, out, err = cli("users", "create", "admin", "--role", "admin")
    assert code == 1 and "already exists" in err
