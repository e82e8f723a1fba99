"""The store contract for monitoring: monitors, their results and alerts.

``MonitorStore`` (what clients read and declare) runs over every backend of the ``store``
fixture (tests/store/conftest.py): SQLite, PostgreSQL and the REST store against a server
over each. ``MonitorRunStore`` (what runs next to the database: results appended by a run,
the controller's schedule, the alert lifecycle) runs over SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mainsail.core import InvalidValueError, NotFoundError
from mainsail.core._ids import now_ms
from mainsail.monitoring import AlertRule, MonitorSpec
from mainsail.monitoring._alerts import evaluate
from mainsail.store import Database, SqlStore

MONITOR_KEYS = {
    "id",
    "endpoint",
    "name",
    "spec",
    "enabled",
    "interval_s",
    "last_run_at",
    "next_run_at",
    "created_at",
    "updated_at",
}


def _name() -> str:
    return f"ep-{uuid.uuid4().hex[:8]}"


def _put(store: Any, endpoint: str, name: str = "default", **spec: Any) -> dict[str, Any]:
    doc = MonitorSpec(endpoint=endpoint, name=name, **spec).model_dump(mode="json")
    interval_s = {"5m": 300, "10m": 600}[doc["interval"]]
    return dict(store.put_monitor(endpoint, name, doc, interval_s=interval_s, enabled=True))


def _result(ts: int, status: str = "ok", **scores: float) -> dict[str, Any]:
    doc = {"monitor_id": 0, "endpoint": "x", "name": "y", "ts": ts, "status": status}
    doc.update(window_start=ts - 60_000, window_end=ts, scores=scores)
    return {
        "ts": ts,
        "window_start": ts - 60_000,
        "window_end": ts,
        "model_version": "1",
        "status": status,
        "scores": scores,
        "result": doc,
    }


def _alert(store: Any, endpoint: str, rule: str = "drift", **values: Any) -> dict[str, Any]:
    now = values.pop("now", now_ms())
    doc = {
        "fingerprint": f"{rule}:{endpoint}",
        "rule": rule,
        "endpoint": endpoint,
        "severity": "warning",
        "state": "firing",
        "value": 0.7,
        "evidence": {"features": [{"column": "age"}]},
        "first_seen_at": now,
        "fired_at": now,
        "updated_at": now,
        **values,
    }
    row = store.insert_alert(doc)
    assert row is not None
    return dict(row)


# -- MonitorStore: every backend ----------------------------------------------------------------
def test_monitor_round_trip_and_replace_keeps_id(store: Any) -> None:
    ep = _name()
    made = _put(store, ep, window="30m", checks=["drift"])
    assert set(made) == MONITOR_KEYS
    assert (made["endpoint"], made["name"], made["interval_s"], made["enabled"]) == (
        ep,
        "default",
        300,
        True,
    )
    assert made["spec"]["window"] == "30m" and made["spec"]["checks"] == ["drift"]
    assert made["next_run_at"] is not None and made["last_run_at"] is None  # due at once
    assert store.get_monitor_row(ep, "default") == made
    again = _put(store, ep, window="2h", interval="10m")
    assert again["id"] == made["id"] and again["interval_s"] == 600
    assert again["spec"]["window"] == "2h" and again["created_at"] == made["created_at"]
    other = _put(store, ep, name="nightly")
    assert [m["name"] for m in store.list_monitor_rows(ep)] == ["default", "nightly"]
    assert other["id"] in {m["id"] for m in store.list_monitor_rows()}
    assert store.list_monitor_rows(_name()) == []


def test_unknown_monitor_says_which_exist(store: Any) -> None:
    ep = _name()
    _put(store, ep)
    for call in (
        lambda: store.get_monitor_row(ep, "nope"),
        lambda: store.delete_monitor(ep, "nope"),
        lambda: store.list_monitor_results(ep, "nope"),
        lambda: store.monitor_score_series(ep, "nope"),
    ):
        with pytest.raises(NotFoundError, match=f"No monitor 'nope' on endpoint '{ep}'") as e:
            call()
        assert f"{ep}/default" in str(e.value)


def test_results_oldest_first_limited_and_as_a_series(store: Any, sql_store: Any) -> None:
    ep = _name()
    mid = _put(store, ep)["id"]
    ids = [
        sql_store.add_monitor_result(mid, _result(ts, "warning" if ts == 3000 else "ok", x=ts), ts)
        for ts in (1000, 2000, 3000, 4000)
    ]
    assert ids == sorted(ids)
    docs = store.list_monitor_results(ep, "default")
    assert [d["id"] for d in docs] == ids and [d["ts"] for d in docs] == [1000, 2000, 3000, 4000]
    assert docs[0]["scores"] == {"x": 1000.0} and docs[2]["status"] == "warning"
    assert [d["ts"] for d in store.list_monitor_results(ep, "default", limit=2)] == [3000, 4000]
    assert [d["ts"] for d in store.list_monitor_results(ep, "default", since_ms=2500)] == [
        3000,
        4000,
    ]
    series = store.monitor_score_series(ep, "default", limit=3)
    assert series == [
        {"ts": 2000, "status": "ok", "model_version": "1", "scores": {"x": 2000.0}},
        {"ts": 3000, "status": "warning", "model_version": "1", "scores": {"x": 3000.0}},
        {"ts": 4000, "status": "ok", "model_version": "1", "scores": {"x": 4000.0}},
    ]
    row = store.get_monitor_row(ep, "default")
    assert (row["last_run_at"], row["next_run_at"]) == (4000, 4000)


def test_delete_removes_the_monitor_and_its_results(store: Any, sql_store: Any) -> None:
    ep = _name()
    mid = _put(store, ep)["id"]
    sql_store.add_monitor_result(mid, _result(1000), 2000)
    store.delete_monitor(ep, "default")
    with pytest.raises(NotFoundError):
        store.get_monitor_row(ep, "default")
    _put(store, ep)  # declared again: a new monitor without the old results
    assert store.list_monitor_results(ep, "default") == []
    assert all(r["endpoint"] != ep for r in sql_store.latest_monitor_results())


def test_alerts_newest_first_filtered_and_by_id(store: Any, sql_store: Any) -> None:
    ep, other = _name(), _name()
    first = _alert(sql_store, ep, "drift")
    second = _alert(sql_store, ep, "errors", severity="critical")
    _alert(sql_store, other, "drift")
    resolved = _alert(sql_store, ep, "old", state="resolved", resolved_at=now_ms())
    mine = store.list_alert_rows(ep)
    assert [a["id"] for a in mine] == [resolved["id"], second["id"], first["id"]]
    assert [a["rule"] for a in store.list_alert_rows(ep, "firing")] == ["errors", "drift"]
    assert [a["id"] for a in store.list_alert_rows(ep, "resolved")] == [resolved["id"]]
    assert len(store.list_alert_rows(ep, limit=1)) == 1
    got = store.get_alert_row(second["id"])
    assert got == second and got["evidence"] == {"features": [{"column": "age"}]}
    assert {"fingerprint", "notified_state", "count", "first_seen_at"} <= set(got)
    with pytest.raises(NotFoundError, match="No alert with id 987654321"):
        store.get_alert_row(987654321)
    with pytest.raises(InvalidValueError, match="pending, firing, resolved"):
        store.list_alert_rows(ep, "open")


# -- MonitorRunStore: next to the database --------------------------------------------------
@pytest.fixture
def local(db_url: str) -> Iterator[SqlStore]:
    s = SqlStore(Database(db_url))
    yield s
    s.db.dispose()


def test_due_monitors_and_the_schedule(local: SqlStore) -> None:
    ep = _name()
    a = _put(local, ep)
    b = _put(local, ep, name="off")
    local.put_monitor(ep, "off", b["spec"], interval_s=300, enabled=False)
    now = a["next_run_at"] + 1
    assert [m["id"] for m in local.due_monitor_rows(now)] == [a["id"]]
    local.add_monitor_result(a["id"], _result(now), next_run_at=now + 300_000)
    assert local.due_monitor_rows(now + 1000) == []
    assert [m["id"] for m in local.due_monitor_rows(now + 300_000)] == [a["id"]]
    local.schedule_monitor(a["id"], now + 5)
    assert [m["next_run_at"] for m in local.due_monitor_rows(now + 5)] == [now + 5]
    with pytest.raises(
        InvalidValueError, match="Missing: window_end, model_version, status, scores, result"
    ):
        local.add_monitor_result(a["id"], {k: 1 for k in ("ts", "window_start")}, 0)


def test_latest_results_and_an_endpoint_s_scores(local: SqlStore) -> None:
    ep, other = _name(), _name()
    a, b, c = _put(local, ep)["id"], _put(local, ep, name="b")["id"], _put(local, other)["id"]
    local.add_monitor_result(a, _result(1000, x=1), 0)
    local.add_monitor_result(a, _result(3000, x=3), 0)
    local.add_monitor_result(b, _result(2000, x=2), 0)
    local.add_monitor_result(c, _result(5000, x=5), 0)
    latest = {(r["endpoint"], r["name"]): r["ts"] for r in local.latest_monitor_results()}
    assert {k: v for k, v in latest.items() if k[0] in (ep, other)} == {
        (ep, "default"): 3000,
        (ep, "b"): 2000,
        (other, "default"): 5000,
    }
    scores = local.endpoint_result_scores(ep)
    assert [(r["ts"], r["scores"]) for r in scores] == [
        (3000, {"x": 3}),
        (2000, {"x": 2}),
        (1000, {"x": 1}),
    ]
    assert [r["ts"] for r in local.endpoint_result_scores(ep, after_ts=1000, limit=1)] == [3000]


def test_one_open_alert_per_fingerprint_and_compare_and_set(local: SqlStore) -> None:
    ep = _name()
    first = _alert(local, ep)
    assert local.insert_alert(_doc(first)) is None
    assert local.open_alert_row(first["fingerprint"]) == first
    stale = {"count": first["count"], "state": "pending"}
    assert local.update_alert(first["id"], expect=stale, value=0.1) is None  # someone moved it
    moved = local.update_alert(first["id"], expect={"count": 1, "state": "firing"}, count=2)
    assert moved is not None and moved["count"] == 2 and moved["value"] == 0.7
    assert local.update_alert(first["id"], expect={"notified_state": None}, notified_state="firing")
    assert (
        local.update_alert(first["id"], expect={"notified_state": None}, notified_state="x") is None
    )
    done = local.update_alert(first["id"], state="resolved", resolved_at=5)
    assert done is not None and local.open_alert_row(first["fingerprint"]) is None
    assert _alert(local, ep)["id"] != first["id"]  # a new episode is a new alert
    counts = [r for r in local.firing_alert_counts() if r["endpoint"] == ep]
    assert counts == [{"endpoint": ep, "severity": "warning", "count": 1}]
    with pytest.raises(InvalidValueError, match="Unknown alert fields \\['colour'\\]"):
        local.update_alert(first["id"], colour="red")
    with pytest.raises(InvalidValueError, match="cannot compare 'evidence'"):
        local.update_alert(first["id"], expect={"evidence": {}}, count=3)
    with pytest.raises(InvalidValueError, match="Missing: rule"):
        local.insert_alert({k: v for k, v in _doc(first).items() if k != "rule"})
    with pytest.raises(InvalidValueError, match="Valid states are"):
        local.update_alert(first["id"], state="on fire")


def _doc(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "id"}


def test_concurrent_evaluations_open_one_alert_and_notify_once(local: SqlStore) -> None:
    """Eight evaluations of one rule at once (a controller and manual runs, replicas)."""
    ep = _name()
    rule = AlertRule(name="drift", metric="drift.share", op=">=", threshold=0.5)
    events: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def run(i: int) -> None:
        try:
            start.wait()
            for a, e in evaluate(local, ep, [rule], {"drift.share": 0.9}, lambda r: {}, 1000 + i):
                events.append((a.id, e))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    (alert,) = local.list_alert_rows(ep)
    assert alert["state"] == "firing" and alert["count"] == 8
    assert events == [(alert["id"], "firing")]
