"""The monitoring service over embedded and remote contexts: the same results, the same
errors, the same notifications.

``local`` is the data's own context (the SQL store, the data plane's sketches and logs);
``remote`` is a client context whose store is the REST store of a server built on ``local``
(in process, auth on), so every call it makes goes through the routes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import mainsail
from mainsail.core import InvalidValueError, NotFoundError
from mainsail.core._settings import Settings
from mainsail.monitoring import (
    MONITORING,
    AlertRule,
    create_monitor,
    list_alerts,
    list_results,
    register_notifier,
    resolve_alert,
    results_frame,
    run_monitor,
    unregister_notifier,
    write_report,
)
from mainsail.monitoring._local import LocalMonitoring
from mainsail.monitoring._remote import RemoteMonitoring
from mainsail.store import Context


@pytest.fixture
def remote(ctx: Context, tmp_path: Path) -> Iterator[Context]:
    from mainsail.security import create_user_with_token
    from mainsail.server import create_app
    from mainsail.store._rest_store import RestArtifactStore, RestClient, RestStore

    token = create_user_with_token(ctx.database(), "admin", "admin").token
    with TestClient(create_app(ctx, auth=True)) as http:
        client = RestClient("http://testserver", token=token, client=http)
        settings = Settings(home=tmp_path / "client", tracking_uri="http://testserver")
        yield Context(settings, RestStore(client), RestArtifactStore(client), remote=client)


@pytest.fixture
def heard() -> Iterator[list[tuple[str, str, int]]]:
    seen: list[tuple[str, str, int]] = []
    register_notifier("recorder", lambda alert, event: seen.append((alert.rule, event, alert.id)))
    yield seen
    unregister_notifier("recorder")


def test_each_context_gets_its_implementation(ctx: Context, remote: Context) -> None:
    assert isinstance(ctx.service(MONITORING), LocalMonitoring)
    assert isinstance(remote.service(MONITORING), RemoteMonitoring)
    assert remote.service(MONITORING) is remote.service(MONITORING)  # built once


def _without_live_readings(result: Any) -> dict[str, Any]:
    """A monitor result without its id, alerts and the server's live CPU/memory (and the cost
    priced from them): the serving process refreshes those between two runs."""
    import re

    live = re.compile(r"(cpu|memory|cost)")

    def prune(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: prune(v) for k, v in value.items() if not live.search(str(k))}
        return value

    return prune(result.model_dump(exclude={"id", "alerts"}))


def test_a_run_is_the_same_embedded_and_remote(
    served: Any, ctx: Context, remote: Context, make_churn: Any, heard: Any, tmp_path: Path
) -> None:
    served.traffic(make_churn(1500, seed=1, age_shift=10), label_every=2)
    rule = AlertRule(name="age", metric="drift.feature.age.drifted", op=">=", threshold=1)
    create_monitor(remote, "churn", rules=[rule], notifiers=["recorder"])
    now = mainsail.list_monitors()[0].created_at + 1000
    here = run_monitor(ctx, "churn", now_ms=now)
    there = run_monitor(remote, "churn", now_ms=now)
    assert here.id is not None and there.id == here.id + 1
    assert _without_live_readings(here) == _without_live_readings(there)
    assert (here.status, here.drift and here.drift.drifted_columns) == ("warning", ["age"])
    assert [(a.id, a.state, a.count) for a in there.alerts] == [(here.alerts[0].id, "firing", 2)]
    assert heard == [("age", "firing", here.alerts[0].id)]  # the second run: no news
    # the records read back the same through either store
    assert list_results(ctx, "churn") == list_results(remote, "churn")
    assert results_frame(ctx, "churn").equals(results_frame(remote, "churn"))
    assert list_alerts(ctx, "churn") == list_alerts(remote, "churn")
    # the report is evaluated where the sketches are, drawn where it is asked for
    _, local_json = write_report(ctx, "churn", tmp_path / "here.html")
    _, remote_json = write_report(remote, "churn", tmp_path / "there.html")
    import orjson

    a, b = orjson.loads(local_json.read_bytes()), orjson.loads(remote_json.read_bytes())
    assert a["distributions"] == b["distributions"] and a["history"] == b["history"]
    assert [h["status"] for h in a["history"]] == ["warning", "warning"]


@pytest.mark.parametrize("where", ["local", "remote"])
def test_resolving_by_hand_tells_the_notifiers_once(
    where: str,
    served: Any,
    ctx: Context,
    remote: Context,
    make_churn: Any,
    heard: Any,
) -> None:
    served.traffic(make_churn(1500, seed=1, age_shift=10), label_every=0)
    rule = AlertRule(name="age", metric="drift.feature.age.drifted", op=">=", threshold=1)
    create_monitor(ctx, "churn", checks=["drift"], rules=[rule], notifiers=["recorder"])
    create_monitor(ctx, "churn", name="quiet", checks=["drift"], notifiers=[])
    (alert,) = run_monitor(ctx, "churn").alerts
    caller = ctx if where == "local" else remote
    done = resolve_alert(caller, alert.id)
    assert (done.id, done.state, done.evidence["resolved_by"]) == (alert.id, "resolved", "manual")
    assert done.notified_state == "resolved"
    # only the monitor whose rules raise it is told (not 'quiet'), and only once
    assert heard == [("age", "firing", alert.id), ("age", "resolved", alert.id)]
    assert resolve_alert(caller, alert.id).state == "resolved"
    assert len(heard) == 2


def test_a_pending_alert_resolved_by_hand_tells_nobody(
    ctx: Context, remote: Context, heard: Any
) -> None:
    from mainsail.monitoring._alerts import evaluate

    create_monitor(ctx, "churn", notifiers=["recorder"])
    rule = AlertRule(name="drift", metric="drift.share", op=">", threshold=0.1, for_s=600)
    evaluate(ctx.database(), "churn", [rule], {"drift.share": 0.9}, lambda r: {}, 0)
    (alert,) = list_alerts(remote, "churn")
    assert resolve_alert(remote, alert.id).state == "resolved" and heard == []


def test_the_same_errors_embedded_and_remote(ctx: Context, remote: Context) -> None:
    create_monitor(ctx, "churn")
    for caller in (ctx, remote):
        with pytest.raises(NotFoundError, match="No monitor 'default' on endpoint 'fraud'") as e:
            run_monitor(caller, "fraud")
        assert "Known monitors: churn/default" in str(e.value)
        with pytest.raises(NotFoundError, match="No monitor 'nightly' on endpoint 'churn'"):
            write_report(caller, "churn", "never.html", name="nightly")
        with pytest.raises(NotFoundError, match="No alert with id 4242"):
            resolve_alert(caller, 4242)
        with pytest.raises(InvalidValueError, match="Valid states are: pending, firing, resolved"):
            list_alerts(caller, state="open")
        with pytest.raises(InvalidValueError, match="Expected a duration"):
            run_monitor(caller, "churn", window="soon")
    assert list_results(ctx, "churn") == []  # nothing half-done


def test_clients_from_before_the_rename_still_declare_monitors(remote: Context) -> None:
    assert remote.remote is not None
    doc = remote.remote.json("PUT", "/monitors/churn/old", json={"drift_share": 0.25})
    assert doc["spec"]["max_drift_share"] == 0.25
    with pytest.raises(InvalidValueError, match="drift_share"):
        remote.remote.json("PUT", "/monitors/churn/old", json={"drift_share": 1.5})
