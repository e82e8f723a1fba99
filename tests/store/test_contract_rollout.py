"""The sql contract for delivery: endpoints, revisions, rollouts, serving stats, the leader
lock, over the SQL sql on SQLite and PostgreSQL (the ``db_url`` fixture).

Delivery reaches a server through its service (``mainsail.rollout.DELIVERY``), not the REST
sql, so these protocols are the ``LocalStore``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mainsail.core import InvalidValueError
from mainsail.core._errors import EndpointNotFoundError
from mainsail.store import Database, LocalStore, SqlStore
from mainsail.store.protocols import (
    LeaderStore,
    RevisionDraft,
    RolloutStore,
    ServingStatsStore,
)

V1 = {"name": "stable", "model": "m", "version": 1, "weight": 100.0, "role": "stable"}
V2 = {**V1, "version": 2}
DOC = {"spec": {}, "stable": V1, "target": V2}


@pytest.fixture
def sql(db_url: str) -> Iterator[SqlStore]:
    s = SqlStore(Database(db_url))
    yield s
    s.db.dispose()


def _deployed(sql: SqlStore, name: str = "churn") -> int:
    return sql.create_rollout(
        name, "direct", DOC, "promoted", "test", "ana", None,
        revision=RevisionDraft([V1], {"name": "direct"}, "created", "ana"), create_endpoint=True,
    )  # fmt: skip


def _canary(sql: SqlStore, name: str = "churn") -> dict[str, Any]:
    rid = sql.create_rollout(name, "canary", DOC, "pending", "test", "ana", 1)
    found = sql.get_rollout_record(name, rid)
    assert found is not None
    return found


def test_the_sql_store_implements_the_delivery_protocols(sql: SqlStore) -> None:
    assert isinstance(sql, RolloutStore) and isinstance(sql, ServingStatsStore)
    assert isinstance(sql, LeaderStore) and isinstance(sql, LocalStore)


def test_revisions_append_and_unknown_endpoints_are_listed(sql: SqlStore) -> None:
    with pytest.raises(EndpointNotFoundError, match="No endpoint named 'churn'. Endpoints: none"):
        sql.add_endpoint_revision("churn", [V1], {"name": "direct"})
    assert sql.get_revision("churn") is None
    assert sql.add_endpoint_revision("churn", [V1], {"name": "direct"}, "hi", "ana", True) == 1
    assert sql.add_endpoint_revision("churn", [V2], {"name": "direct"}, "v2", "bo") == 2
    rec = sql.get_endpoint_record("churn")
    assert rec["revision"] == 2 and [r["revision"] for r in rec["history"]] == [1, 2]
    assert rec["history"][1] | {"created_at": 0} == {
        "revision": 2, "variants": [V2], "strategy": {"name": "direct"}, "reason": "v2",
        "created_at": 0, "created_by": "bo",
    }  # fmt: skip
    assert [r["revision"] for r in sql.get_endpoint_record("churn", history=False)["history"]] == [
        2
    ]
    assert sql.get_revision("churn")["variants"] == [V2]  # type: ignore[index]
    assert sql.get_revision("churn", 1)["variants"] == [V1]  # type: ignore[index]
    assert sql.get_revision("churn", 9) is None
    listed = sql.list_endpoint_records()
    assert [(r["name"], r["current_revision"], r["variants"]) for r in listed] == [
        ("churn", 2, [V2])
    ]
    with pytest.raises(EndpointNotFoundError, match="Endpoints: churn"):
        sql.get_endpoint_record("nope")


def test_a_first_deploy_creates_endpoint_revision_and_rollout_together(sql: SqlStore) -> None:
    rid = _deployed(sql)
    r = sql.get_rollout_record("churn")
    assert r is not None and r["id"] == rid
    assert (r["state"], r["to_revision"], r["from_revision"], r["endpoint"]) == (
        "promoted", 1, None, "churn",
    )  # fmt: skip
    assert r["finished_at"] is not None and r["created_by"] == "ana"
    assert sql.get_endpoint_record("churn")["revision"] == 1


def test_a_refused_rollout_leaves_no_revision_behind(sql: SqlStore) -> None:
    _deployed(sql)
    with pytest.raises(InvalidValueError, match="Unknown rollout state 'done'. Valid states"):
        sql.create_rollout(
            "churn", "direct", DOC, "done", "t", None, 1, revision=RevisionDraft([V2])
        )
    with pytest.raises(EndpointNotFoundError):  # no create_endpoint: nothing is created
        sql.create_rollout("new", "direct", DOC, "promoted", "t", None, None,
                             revision=RevisionDraft([V2]))  # fmt: skip
    assert sql.get_endpoint_record("churn")["revision"] == 1
    assert [r["name"] for r in sql.list_endpoint_records()] == ["churn"]


def test_a_transition_moves_the_revision_only_if_nobody_moved_first(sql: SqlStore) -> None:
    _deployed(sql)
    r = _canary(sql)
    expect = {"state": r["state"], "step": r["step"], "updated_at": r["updated_at"]}
    canary = [V1 | {"weight": 90.0}, V2 | {"name": "canary", "weight": 10.0, "role": "canary"}]
    draft = RevisionDraft(canary, {"name": "canary", "step": 0}, "step 0", "rollout-controller")
    assert sql.update_rollout(r["id"], expect=expect, revision=draft, state="progressing")
    now = sql.get_rollout_record("churn")
    assert now is not None and (now["state"], now["to_revision"]) == ("progressing", 2)
    assert sql.get_revision("churn")["variants"] == canary  # type: ignore[index]
    # the same (now stale) expectation: refused, and its revision is not written either
    stale = RevisionDraft([V2], {"name": "canary"}, "promote", "rollout-controller")
    assert not sql.update_rollout(r["id"], expect=expect, revision=stale, state="promoted")
    assert sql.get_endpoint_record("churn")["revision"] == 2
    assert sql.get_rollout_record("churn")["state"] == "progressing"  # type: ignore[index]
    assert sql.update_rollout(r["id"], step=1, analysis=[{"step": 0}])  # no expectation
    assert sql.get_rollout_record("churn")["analysis"] == [{"step": 0}]  # type: ignore[index]
    assert not sql.update_rollout(10**9, revision=stale, state="promoted")  # no such rollout
    assert sql.get_endpoint_record("churn")["revision"] == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"colour": "red"}, r"Cannot update rollout fields \['colour'\]. Valid fields are: state"),
        ({"expect": {"endpoint_id": 1}}, r"Cannot compare rollout fields \['endpoint_id'\]"),
        (
            {"revision": RevisionDraft([V1]), "to_revision": 3},
            r"to_revision \(the revision given sets it\)",
        ),
    ],
)
def test_bad_updates_are_refused(sql: SqlStore, kwargs: dict[str, Any], match: str) -> None:
    _deployed(sql)
    r = _canary(sql)
    with pytest.raises(InvalidValueError, match=match):
        sql.update_rollout(r["id"], **kwargs)
    assert sql.get_rollout_record("churn")["state"] == "pending"  # type: ignore[index]


def test_rollouts_are_read_newest_first_and_filtered(sql: SqlStore) -> None:
    first = _deployed(sql)
    _deployed(sql, "other")
    second = _canary(sql)["id"]
    assert sql.get_rollout_record("churn")["id"] == second  # type: ignore[index]
    assert sql.get_rollout_record("churn", first)["id"] == first  # type: ignore[index]
    assert sql.get_rollout_record("churn", 10**9) is None
    with pytest.raises(EndpointNotFoundError):
        sql.get_rollout_record("nope")
    assert [r["id"] for r in sql.list_rollout_records("churn")] == [second, first]
    assert [r["id"] for r in sql.list_rollout_records("churn", limit=1)] == [second]
    assert [r["id"] for r in sql.list_rollout_records(states=["pending"])] == [second]
    assert {r["endpoint"] for r in sql.list_rollout_records()} == {"churn", "other"}
    assert sql.list_rollout_records("nope") == []


def test_serving_stats_upsert_read_and_prune(sql: SqlStore) -> None:
    row = {
        "endpoint": "churn", "variant": "stable", "replica": "r1", "window_start": 1000,
        "model_version": "1", "data": {"requests": 3}, "updated_at": 1,
    }  # fmt: skip
    sql.write_serving_stats([row, {**row, "window_start": 2000}])
    sql.write_serving_stats([{**row, "data": {"requests": 5}, "updated_at": 2}])  # same key
    sql.write_serving_stats([])
    got = sql.read_serving_stats("churn")
    assert [(r["window_start"], r["data"]) for r in got] == [
        (1000, {"requests": 5}), (2000, {"requests": 3}),
    ]  # fmt: skip
    assert [r["window_start"] for r in sql.read_serving_stats("churn", 1500)] == [2000]
    assert [r["window_start"] for r in sql.read_serving_stats("churn", 0, 1500)] == [1000]
    assert sql.read_serving_stats("other") == []
    assert sql.delete_serving_stats(1500) == 1
    assert [r["window_start"] for r in sql.read_serving_stats("churn")] == [2000]


def test_one_leader_per_name(sql: SqlStore) -> None:
    a, b = sql.leader_lock("controllers"), sql.leader_lock("controllers")
    other = sql.leader_lock("reports")
    try:
        assert a.try_acquire() and a.held and a.still_held()
        assert not b.try_acquire() and not b.held
        assert other.try_acquire()  # another name elects its own leader
        a.release()
        assert not a.held and b.try_acquire()
    finally:
        for lock in (a, b, other):
            lock.release()
    with pytest.raises(InvalidValueError, match="needs a non-empty name"):
        sql.leader_lock(" ")
