"""``mainsail users|tokens|audit`` embedded and against a real server: same commands, same
results, same errors; each change audited once (by the CLI next to the database, by the
server's routes against it)."""

from __future__ import annotations

import re
from collections.abc import Callable

import orjson

from mainsail.store._rest_store import RestClient

Cli = Callable[..., tuple[int, str, str]]


def _ok(cli: Cli, *args: str) -> str:
    code, out, err = cli(*args)
    assert code == 0, err
    return out


def test_admin_commands_work_the_same_embedded_and_remote(
    sdk_mode: str, cli: Cli, unique: str
) -> None:
    ana, bot = f"ana-{unique}", f"bot {unique}/ci"  # a name that is not a plain URL segment
    out = _ok(cli, "users", "create", ana, "--role", "developer", "--project", f"p-{unique}")
    first = re.search(r"^ms_\S+$", out, re.M)
    assert first is not None and f"for {ana}, scopes api" in out
    out = _ok(cli, "users", "create", bot, "--role", "viewer", "--service", "--scope", "read")
    assert "scopes read" in out
    out = _ok(cli, "users", "grant", bot, "--role", "deployer", "--project", f"p-{unique}")
    assert f"*=viewer, p-{unique}=deployer" in out
    out = _ok(cli, "tokens", "create", bot, "--name", "deploy", "--expires-days", "2")
    second = re.search(r"^ms_\S+$", out, re.M)
    assert second is not None
    listed = orjson.loads(_ok(cli, "tokens", "list", "--user", bot, "--json"))
    assert [t["name"] for t in listed] == ["initial", "deploy"]
    assert second.group(0) not in str(listed) and listed[1]["expires_at"] is not None
    _ok(cli, "tokens", "revoke", str(listed[1]["id"]))
    _ok(cli, "users", "disable", bot)
    users = {u["name"]: u for u in orjson.loads(_ok(cli, "users", "list", "--json"))}
    assert users[bot]["disabled"] is True and users[bot]["kind"] == "service"
    assert users[ana]["roles"] == {f"p-{unique}": "developer"}
    revoked = orjson.loads(_ok(cli, "tokens", "list", "--user", bot, "--json"))[1]
    assert revoked["revoked_at"] is not None

    events = orjson.loads(_ok(cli, "audit", "--target", f"users/{bot}", "--json"))
    assert [e["action"] for e in events] == ["users.update", "users.set_role", "users.create"]
    token_events = orjson.loads(
        _ok(cli, "audit", "--target", f"tokens/{listed[1]['id']}", "--json")
    )
    assert [e["action"] for e in token_events] == ["tokens.revoke", "tokens.create"]
    if sdk_mode == "remote":  # the server records the token's user
        assert {e["actor"] for e in events} == {"admin"}
    else:
        assert all(e["actor"].endswith(" (cli)") and e["client"] == "cli" for e in events)

    # the same errors, with the same messages
    code, _, err = cli("users", "create", ana, "--role", "developer")
    assert code == 1 and f"A user named '{ana}' already exists" in err
    code, _, err = cli("users", "grant", ana, "--role", "owner")
    assert code == 1 and "Unknown role 'owner'. Valid roles are: viewer" in err
    code, _, err = cli("tokens", "create", ana, "--scope", "root")
    assert code == 1 and "Token scopes must be a non-empty list of: api, read" in " ".join(
        err.split()
    )
    code, _, err = cli("tokens", "revoke", "999999")
    assert code == 1 and "No token with id 999999" in err
    code, _, err = cli("users", "disable", f"nobody-{unique}")
    assert code == 1 and f"No user named 'nobody-{unique}'" in err


def test_the_first_token_works_and_disabling_stops_it(
    remote: object, cli: Cli, unique: str
) -> None:
    from mainsail.client import get_context

    out = _ok(cli, "users", "create", f"eve-{unique}", "--role", "viewer", "--scope", "read")
    token = re.search(r"^ms_\S+$", out, re.M)
    assert token is not None
    ctx = get_context()
    assert ctx.remote is not None
    eve = RestClient(ctx.remote.url, token=token.group(0))
    try:
        assert eve.json("GET", "/whoami")["name"] == f"eve-{unique}"
        code, _, err = cli("users", "list")  # the admin's token lists; eve's would not
        assert code == 0, err
        _ok(cli, "users", "disable", f"eve-{unique}")
        status = eve.http.get("/api/v1/whoami").status_code
        assert status == 401
    finally:
        eve.close()


def test_an_empty_model_list_names_the_callers_projects(
    remote: object, cli: Cli, unique: str, monkeypatch: object
) -> None:
    """A user on 'churn-*' sees no model named 'churn': the CLI says why, not just nothing."""
    import mainsail

    out = _ok(cli, "users", "create", f"ana-{unique}", "--role", "viewer", "--project", "churn-*")
    token = re.search(r"^ms_\S+$", out, re.M)
    assert token is not None
    monkeypatch.setenv("MAINSAIL_TOKEN", token.group(0))  # type: ignore[attr-defined]
    mainsail.reset()
    code, out, err = cli("models", "list")
    said = " ".join(err.split())
    assert code == 0, err
    assert (
        f"No model is visible to ana-{unique}: your roles cover the projects 'churn-*' (viewer)"
        in said
    )
