"""The store contract for automations: declare, read, switch, the trail, requests.

``AutomationStore`` runs over every backend of the ``store`` fixture; what the controller
and the retraining job write (``AutomationRecords``) is the SQL store's, and the tests use
it through ``sql_store`` to put events in the trail the way they do.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from mainsail.automation import parse_spec
from mainsail.core import InvalidValueError
from mainsail.core._errors import AutomationNotFoundError
from mainsail.store import SqlStore

ROW_KEYS = {
    "id",
    "name",
    "endpoint",
    "enabled",
    "spec",
    "state",
    "last_triggered_at",
    "created_at",
    "updated_at",
}


def _spec(name: str, endpoint: str = "churn", **over: Any) -> dict[str, Any]:
    doc = {
        "name": name,
        "endpoint": endpoint,
        "model": "churn",
        "pipeline": "flows:retrain",
        "triggers": [{"type": "schedule", "cron": "0 3 * * 1"}],
        **over,
    }
    return parse_spec(doc).model_dump(mode="json")


def _name() -> str:
    return f"a-{uuid.uuid4().hex[:8]}"


def test_declare_read_replace_and_switch(store: Any, sql_store: SqlStore) -> None:
    name = _name()
    made = store.put_automation(name, "churn", _spec(name))
    assert set(made) >= ROW_KEYS
    assert (made["name"], made["endpoint"], made["enabled"], made["state"]) == (
        name,
        "churn",
        True,
        {},
    )
    assert made["spec"]["triggers"] == [{"type": "schedule", "cron": "0 3 * * 1"}]
    assert {k: store.get_automation_row(name)[k] for k in ROW_KEYS} == {
        k: made[k] for k in ROW_KEYS
    }
    assert name in [r["name"] for r in store.list_automation_rows()]
    off = store.set_automation_enabled(name, False)
    assert off["enabled"] is False and off["id"] == made["id"]
    assert name not in [r["name"] for r in store.list_automation_rows(enabled_only=True)]
    # the controller's state survives a new spec, and so does the switch
    sql_store.update_automation(made["id"], state={"in_flight": {"job_id": 7}})
    again = store.put_automation(name, "churn-eu", _spec(name, "churn-eu", cooldown="2h"))
    assert (again["id"], again["endpoint"], again["enabled"]) == (made["id"], "churn-eu", False)
    assert again["state"] == {"in_flight": {"job_id": 7}} and again["spec"]["cooldown"] == 7200
    assert store.set_automation_enabled(name, True)["enabled"] is True


def test_requests_land_in_the_trail_oldest_first(store: Any, sql_store: SqlStore) -> None:
    name = _name()
    aid = store.put_automation(name, "churn", _spec(name))["id"]
    sql_store.add_automation_event(aid, "schedule", "triggered", {"summary": "slot"}, job_id=4)
    ran = store.request_automation(name, "manual", reason="new labels", actor="ann")
    approved = store.request_automation(name, "approval", actor="bob")
    assert (ran["trigger"], ran["status"], ran["detail"]["reason"]) == (
        "manual",
        "requested",
        "new labels",
    )
    # a server records its authenticated caller; the SQL store what it was told
    remote = not isinstance(store, SqlStore)
    assert ran["detail"]["actor"] == ("admin" if remote else "ann")
    assert approved["detail"] == {"actor": "admin" if remote else "bob"}
    trail = store.automation_trail_rows(name)
    assert [(e["trigger"], e["status"]) for e in trail] == [
        ("schedule", "triggered"),
        ("manual", "requested"),
        ("approval", "requested"),
    ]
    assert trail[0]["job_id"] == 4 and trail[1]["id"] == ran["id"]
    assert [e["id"] for e in store.automation_trail_rows(name, limit=1)] == [approved["id"]]
    default = store.request_automation(name, "manual")
    assert default["detail"]["reason"] == "manual run"
    # what the controller acts on: requests after the last one it saw
    after = sql_store.automation_events(aid, after_id=ran["id"], status="requested")
    assert [e["id"] for e in after] == [approved["id"], default["id"]]


def test_unknown_automations_and_requests(store: Any) -> None:
    name = _name()
    for call in (
        lambda: store.get_automation_row(name),
        lambda: store.set_automation_enabled(name, True),
        lambda: store.automation_trail_rows(name),
        lambda: store.request_automation(name, "manual"),
        lambda: store.request_automation(name, "approval"),
    ):
        with pytest.raises(AutomationNotFoundError, match=f"No automation named '{name}'"):
            call()
    store.put_automation(name, "churn", _spec(name))
    with pytest.raises(InvalidValueError, match="Valid requests are: approval, manual"):
        store.request_automation(name, "retrain")
