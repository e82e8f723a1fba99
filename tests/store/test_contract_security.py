"""The security contract: users, role bindings, tokens and the audit log, on every store.

Runs over SQLite, PostgreSQL, REST-over-SQLite and REST-over-PostgreSQL (``store`` in
``tests/store/conftest.py``). The REST backends already hold the ``admin`` user whose token
the client uses, so counts are taken relative to what is there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mainsail.core import (
    ConflictError,
    InvalidValueError,
    NotFoundError,
    Settings,
)
from mainsail.core._errors import UserNotFoundError
from mainsail.core._tokens import hash_token
from mainsail.security import admin
from mainsail.store import ArtifactStore, Context
from mainsail.store._rest_store import RestStore


def _names(store: Any) -> set[str]:
    return {u.name for u in store.list_users()}


def _context(store: Any, tmp_path: Path) -> Context:
    remote = store.client if isinstance(store, RestStore) else None
    return Context(
        Settings(home=tmp_path / "client"), store, ArtifactStore(str(tmp_path / "a")), remote
    )


def test_users_round_trip(store: Any) -> None:
    before = _names(store)
    user = store.create_user("ana", roles={"churn-*": "developer"}, created_by="admin")
    assert (user.name, user.kind, user.disabled) == ("ana", "user", False)
    assert user.roles == {"churn-*": "developer"} and user.created_by == "admin"
    assert store.get_user("ana") == user
    svc = store.create_user("ci bot/1", kind="service")  # any name: it is a URL segment
    assert store.get_user("ci bot/1") == svc and svc.roles == {}
    assert _names(store) == before | {"ana", "ci bot/1"}
    assert store.count_users() == len(before) + 2


def test_a_user_and_its_first_token_come_together(store: Any) -> None:
    created = store.create_user_with_token("ana", "service", {"churn": "deployer"}, ["predict"])
    assert created.user == store.get_user("ana") and created.user.kind == "service"
    assert created.token is not None and created.token.token.startswith("ms_")
    assert (created.token.info.name, created.token.info.scopes) == ("initial", ["predict"])
    assert store.list_tokens("ana") == [created.token.info]
    with pytest.raises(InvalidValueError, match="Token scopes must be"):
        store.create_user_with_token("bob", scopes=["root"])
    with pytest.raises(ConflictError, match="already exists"):
        store.create_user_with_token("ana")
    assert "bob" not in _names(store) and len(store.list_tokens("ana")) == 1


def test_user_errors_say_what_to_do(store: Any) -> None:
    store.create_user("ana")
    with pytest.raises(ConflictError, match="A user named 'ana' already exists"):
        store.create_user("ana")
    with pytest.raises(UserNotFoundError, match="No user named 'nobody'. Known users: .*ana"):
        store.get_user("nobody")
    with pytest.raises(InvalidValueError, match="Unknown role 'owner'. Valid roles are: viewer"):
        store.create_user("bob", roles={"*": "owner"})
    with pytest.raises(InvalidValueError, match="'user' or 'service'"):
        store.create_user("bob", kind="robot")
    with pytest.raises(InvalidValueError, match="1 to 256 characters"):
        store.create_user(" ")
    assert "bob" not in _names(store)  # nothing half-created


def test_role_bindings_and_disabling(store: Any) -> None:
    store.create_user("ana", roles={"churn": "viewer"})
    assert store.set_role("ana", "churn", "deployer").roles == {"churn": "deployer"}
    assert store.set_role("ana", "*", "viewer").roles == {"churn": "deployer", "*": "viewer"}
    assert store.set_role("ana", "churn", None).roles == {"*": "viewer"}
    with pytest.raises(InvalidValueError, match="Unknown role 'boss'"):
        store.set_role("ana", "*", "boss")
    with pytest.raises(InvalidValueError, match="project pattern is 1 to 256"):
        store.set_role("ana", "", "viewer")
    with pytest.raises(UserNotFoundError):
        store.set_role("nobody", "*", "viewer")
    assert store.set_user_disabled("ana", True).disabled is True
    assert store.get_user("ana").disabled is True
    assert store.set_user_disabled("ana", False).disabled is False
    assert store.get_user("ana").roles == {"*": "viewer"}


def test_tokens_are_issued_once_and_listed_without_the_secret(store: Any) -> None:
    store.create_user("ana", roles={"*": "viewer"})
    issued = store.issue_token("ana", ["read", "api", "read"], name="laptop", expires_at=2**40)
    assert issued.token.startswith("ms_") and len(issued.token) > 40
    info = issued.info
    assert (info.user, info.name, info.scopes) == ("ana", "laptop", ["api", "read"])
    assert info.prefix == issued.token[:10] and info.expires_at == 2**40
    assert info.revoked_at is None and info.last_used_at is None
    other = store.issue_token("ana", ["predict"])
    assert other.token != issued.token
    listed = store.list_tokens("ana")
    assert [t.id for t in listed] == [info.id, other.info.id]
    assert all(
        issued.token not in repr(t) and hash_token(issued.token) not in repr(t) for t in listed
    )
    assert store.get_token(info.id) == info
    revoked = store.revoke_token(info.id)
    assert revoked.revoked_at is not None
    assert store.revoke_token(info.id).revoked_at == revoked.revoked_at  # revoking twice is a no-op
    assert store.get_token(other.info.id).revoked_at is None


def test_token_errors_say_what_to_do(store: Any) -> None:
    store.create_user("ana")
    with pytest.raises(InvalidValueError, match="Token scopes must be a non-empty list of: api"):
        store.issue_token("ana", ["root"])
    with pytest.raises(InvalidValueError, match="non-empty list"):
        store.issue_token("ana", [])
    with pytest.raises(UserNotFoundError, match="No user named 'nobody'"):
        store.issue_token("nobody", ["api"])
    with pytest.raises(NotFoundError, match="No token with id 999999"):
        store.get_token(999999)
    with pytest.raises(NotFoundError, match="No token with id 999999"):
        store.revoke_token(999999)
    assert store.list_tokens("ana") == []


def test_every_admin_change_is_audited_once(store: Any, tmp_path: Path) -> None:
    """Through the admin functions: next to the database they record the event, against a
    server its routes do; either way one event per change, newest first."""
    ctx = _context(store, tmp_path)
    issued = admin.create_user(ctx, "bob", "developer", "churn", actor="ops (cli)")
    admin.set_role(ctx, "bob", "*", "viewer", actor="ops (cli)")
    token = admin.create_token(ctx, "bob", ["read"], "ci", expires_in_days=1, actor="ops (cli)")
    admin.revoke_token(ctx, token.info.id, actor="ops (cli)")
    admin.set_user_disabled(ctx, "bob", True, actor="ops (cli)")
    assert store.get_user("bob").roles == {"churn": "developer", "*": "viewer"}
    assert store.get_token(issued.info.id).revoked_at is None
    assert store.get_token(token.info.id).revoked_at is not None
    assert token.info.expires_at is not None and token.info.expires_at > token.info.created_at

    def actions(**kw: Any) -> list[str]:
        return [e.action for e in store.list_audit_events(**kw)]

    events = store.list_audit_events(target="users/bob")
    assert [e.action for e in events] == ["users.update", "users.set_role", "users.create"]
    assert events[1].before == {"roles": {"churn": "developer"}}
    assert events[1].after == {"roles": {"churn": "developer", "*": "viewer"}}
    assert all(e.status in (200, 201) and e.ts >= events[-1].ts for e in events)
    assert actions(action="tokens.") == ["tokens.revoke", "tokens.create"]
    assert actions(action="tokens.", limit=1) == ["tokens.revoke"]
    assert actions(target=f"tokens/{token.info.id}") == ["tokens.revoke", "tokens.create"]
    assert actions(action="users.", since=events[0].ts + 60_000) == []
    actor = {e.actor for e in events}
    assert actor == ({"admin"} if isinstance(store, RestStore) else {"ops (cli)"})


def test_admin_functions_refuse_bad_input_before_changing_anything(
    store: Any, tmp_path: Path
) -> None:
    ctx = _context(store, tmp_path)
    with pytest.raises(InvalidValueError, match="Unknown role 'owner'"):
        admin.create_user(ctx, "carol", "owner", actor="ops")
    with pytest.raises(InvalidValueError, match="Token scopes"):
        admin.create_user(ctx, "carol", "viewer", scopes=["everything"], actor="ops")
    assert "carol" not in _names(store)
    admin.create_user(ctx, "carol", "viewer", actor="ops")
    with pytest.raises(InvalidValueError, match="expires_in_days must be more than 0"):
        admin.create_token(ctx, "carol", expires_in_days=0, actor="ops")
    assert [t.name for t in store.list_tokens("carol")] == ["initial"]
    assert store.list_audit_events(target="users/carol")[0].action == "users.create"
