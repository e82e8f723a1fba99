"""Alert lifecycle (pending -> firing after for_s -> resolved), dedup, notifiers."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import mainsail
from mainsail.core import InvalidValueError, NotFoundError
from mainsail.monitoring import AlertRule, register_notifier, unregister_notifier
from mainsail.monitoring._alerts import evaluate
from mainsail.monitoring._notifiers import WebhookNotifier, notify


@pytest.fixture
def calls() -> Iterator[list[tuple[str, str, int]]]:
    seen: list[tuple[str, str, int]] = []
    register_notifier("recorder", lambda alert, event: seen.append((alert.rule, event, alert.id)))
    yield seen
    unregister_notifier("recorder")


def _run(ctx: Any, rule: AlertRule, value: float, now: int, seen: list[Any]) -> list[Any]:
    events = evaluate(ctx.store, "churn", [rule], {rule.metric: value}, lambda r: {"k": value}, now)
    for alert, event in events:
        notify(["recorder"], alert, event)
    return events


def test_pending_then_firing_then_resolved_once_each(ctx, calls) -> None:  # type: ignore[no-untyped-def]
    rule = AlertRule(name="drift", metric="drift.share", op=">=", threshold=0.5, for_s=60)
    _run(ctx, rule, 0.6, 0, calls)
    (a,) = mainsail.list_alerts("churn")
    assert a.state == "pending" and a.fired_at is None and calls == []
    _run(ctx, rule, 0.7, 30_000, calls)  # held 30 s < 60 s: still pending
    assert mainsail.list_alerts("churn")[0].state == "pending"
    _run(ctx, rule, 0.8, 61_000, calls)
    (a,) = mainsail.list_alerts("churn")
    assert a.state == "firing" and a.fired_at == 61_000 and a.count == 3 and a.value == 0.8
    assert a.evidence["condition"] == "drift.share >= 0.5" and a.evidence["k"] == 0.8
    _run(ctx, rule, 0.9, 120_000, calls)  # still firing: deduplicated, no new notification
    assert len(mainsail.list_alerts("churn")) == 1 and calls == [("drift", "firing", a.id)]
    _run(ctx, rule, 0.1, 180_000, calls)
    (a,) = mainsail.list_alerts("churn")
    assert a.state == "resolved" and a.resolved_at == 180_000
    assert calls == [("drift", "firing", a.id), ("drift", "resolved", a.id)]
    _run(ctx, rule, 0.1, 240_000, calls)  # stays resolved, nothing sent
    assert len(calls) == 2
    _run(ctx, rule, 0.9, 300_000, calls)  # a new episode is a new alert
    assert [x.state for x in mainsail.list_alerts("churn")] == ["pending", "resolved"]


def test_pending_that_clears_is_dropped_silently(ctx, calls) -> None:  # type: ignore[no-untyped-def]
    rule = AlertRule(name="acc", metric="performance.accuracy", op="<", threshold=0.8, for_s=600)
    _run(ctx, rule, 0.7, 0, calls)
    _run(ctx, rule, 0.9, 10_000, calls)
    assert mainsail.list_alerts(state="resolved")[0].fired_at is None and calls == []


def test_missing_metric_leaves_the_state_alone(ctx, calls) -> None:  # type: ignore[no-untyped-def]
    rule = AlertRule(name="drift", metric="drift.share", op=">", threshold=0.1)
    _run(ctx, rule, 0.5, 0, calls)
    assert evaluate(ctx.store, "churn", [rule], {}, lambda r: {}, 1000) == []
    assert mainsail.list_alerts(state="firing")[0].rule == "drift"


def test_resolve_by_hand_and_bad_input(ctx, calls) -> None:  # type: ignore[no-untyped-def]
    rule = AlertRule(name="drift", metric="drift.share", op=">", threshold=0.1)
    _run(ctx, rule, 0.5, 0, calls)
    a = mainsail.list_alerts(state="firing")[0]
    assert mainsail.resolve_alert(a.id).state == "resolved"
    assert mainsail.resolve_alert(a.id).evidence["resolved_by"] == "manual"
    with pytest.raises(NotFoundError, match="No alert with id 999"):
        mainsail.resolve_alert(999)
    with pytest.raises(InvalidValueError, match="Valid states are"):
        mainsail.list_alerts(state="on fire")
    with pytest.raises(InvalidValueError, match="built in"):
        register_notifier("webhook", lambda a, e: None)


class _Sink(http.server.BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        n = int(self.headers["content-length"])
        _Sink.bodies.append(json.loads(self.rfile.read(n)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def sink() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    _Sink.bodies = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Sink)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Sink.bodies
    server.shutdown()
    server.server_close()


@pytest.mark.usefixtures("loopback_webhooks")
def test_webhook_json_and_slack_bodies_through_a_monitor_run(
    served, ctx, make_churn, sink, calls
) -> None:  # type: ignore[no-untyped-def]
    url, bodies = sink
    served.traffic(make_churn(1500, seed=1, age_shift=10), label_every=0)
    mainsail.create_monitor(
        "churn",
        checks=["drift"],
        rules=[AlertRule(name="age", metric="drift.feature.age.effect", op=">", threshold=0.3)],
        notifiers=[
            {"type": "webhook", "url": url},
            {"type": "webhook", "url": url, "format": "slack"},
            "webhook:http://127.0.0.1:9/nobody-listens",
            "recorder",
            "log",
        ],
    )
    r = mainsail.run_monitor("churn")
    assert r.status == "warning"
    assert len(bodies) == 2
    generic, slack = bodies
    assert generic["event"] == "firing" and generic["alert"]["rule"] == "age"
    assert generic["alert"]["evidence"]["features"][0]["column"] == "age"
    assert set(slack) == {"text"} and "age firing on endpoint churn" in slack["text"]
    assert calls == [("age", "firing", generic["alert"]["id"])]
    # the dead webhook failed without breaking the run; the error sits in the evidence
    (alert,) = mainsail.list_alerts(state="firing")
    (err,) = alert.evidence["notify_errors"]
    assert err.startswith("webhook: URLError")
    mainsail.run_monitor("churn")  # still firing: nobody is told again
    assert len(bodies) == 2 and len(calls) == 1


def test_webhook_rejects_bad_urls_and_formats() -> None:
    with pytest.raises(InvalidValueError, match="http"):
        WebhookNotifier("file:///etc/passwd")
    with pytest.raises(InvalidValueError, match="'json' or 'slack'"):
        WebhookNotifier("http://x", format="xml")


def test_default_rules_raise_drift_on_dataset_drift(served, ctx, make_churn) -> None:  # type: ignore[no-untyped-def]
    frame = make_churn(1500, seed=1, age_shift=10, plan_p=[0.1, 0.1, 0.8])
    served.traffic(frame, label_every=0)
    mainsail.create_monitor("churn", checks=["drift", "operational"], notifiers=[])
    r = mainsail.run_monitor("churn")
    assert r.drift is not None and r.drift.dataset_drift
    assert [(a.rule, a.severity, a.state) for a in r.alerts] == [("drift", "warning", "firing")]


def test_emoji_shortcodes_only_go_to_slack(caplog: pytest.LogCaptureFixture) -> None:
    """``:rotating_light:`` is Slack markup; a log line printed it literally."""
    from mainsail.monitoring._alerts import Alert
    from mainsail.monitoring._notifiers import LogNotifier, alert_text

    alert = Alert(id=1, fingerprint="f", rule="drift", endpoint="churn", severity="warning",
                  state="firing", value=0.6, first_seen_at=0, updated_at=0)  # fmt: skip
    with caplog.at_level("WARNING"):
        LogNotifier().send(alert, "firing")
    assert "[WARNING] drift firing on endpoint churn" in caplog.text
    assert ":rotating_light:" not in caplog.text
    assert alert_text(alert, "firing", slack=True).startswith(":rotating_light: [WARNING]")


def test_two_monitors_on_one_endpoint_keep_their_own_alerts(served, ctx, make_churn) -> None:  # type: ignore[no-untyped-def]
    """Same rule name, one endpoint: each monitor has its alert, series and notifiers."""
    from prometheus_client.parser import text_string_to_metric_families

    from mainsail.monitoring import render_prometheus

    heard: dict[str, list[tuple[str, str, int]]] = {"a": [], "b": []}
    for key in heard:
        register_notifier(
            f"hear_{key}",
            lambda alert, event, k=key: heard[k].append((alert.rule, event, alert.id)),
        )
    try:
        served.traffic(make_churn(1500, seed=1, age_shift=10), label_every=0)
        drift_rule = {"name": "drift", "metric": "drift.dataset", "op": ">=", "threshold": 1}
        mainsail.create_monitor(
            "churn", name="inputs", checks=["drift"], columns=["age"], rules=[drift_rule],
            notifiers=["hear_a"],
        )  # fmt: skip
        mainsail.create_monitor(
            "churn", name="income", checks=["drift"], columns=["income"], rules=[drift_rule],
            notifiers=["hear_b"],
        )  # fmt: skip
        for _ in range(3):  # alternate: a shared key would fire, resolve, fire, ...
            mainsail.run_monitor("churn", name="inputs")
            mainsail.run_monitor("churn", name="income")
        alerts = mainsail.list_alerts("churn")
        assert [(a.rule, a.state, a.evidence["monitor"], a.count) for a in alerts] == [
            ("drift", "firing", "inputs", 3)
        ]
        assert heard == {"a": [("drift", "firing", alerts[0].id)], "b": []}
        # one series per monitor: the two results do not collide
        text = render_prometheus(ctx).decode()
        fams = {f.name: f for f in text_string_to_metric_families(text)}
        share = {s.labels["monitor"]: s.value for s in fams["mainsail_dataset_drift"].samples}
        assert share == {"inputs": 1.0, "income": 0.0}
        scores = [tuple(sorted(s.labels.items())) for s in fams["mainsail_drift_score"].samples]
        assert len(scores) == len(set(scores)) == 2
        # a manual resolve tells the alert's own monitor's notifiers, not the other's
        done = mainsail.resolve_alert(alerts[0].id)
        assert done.state == "resolved" and done.notified_state == "resolved"
        assert heard["a"][-1] == ("drift", "resolved", alerts[0].id) and heard["b"] == []
    finally:
        for key in heard:
            unregister_notifier(f"hear_{key}")


def test_an_alert_from_before_monitor_keys_is_taken_over_by_its_monitor(ctx, calls) -> None:  # type: ignore[no-untyped-def]
    rule = AlertRule(name="drift", metric="drift.share", op=">", threshold=0.1)
    # opened by an older Mainsail: keyed by rule + endpoint, its evidence names the monitor
    evaluate(ctx.store, "churn", [rule], {rule.metric: 0.5}, lambda r: {"monitor": "inputs"}, 0)
    (old,) = mainsail.list_alerts("churn")
    evaluate(ctx.store, "churn", [rule], {rule.metric: 0.6}, lambda r: {}, 1000, "other")
    evaluate(ctx.store, "churn", [rule], {rule.metric: 0.7}, lambda r: {}, 2000, "inputs")
    alerts = {a.id: a for a in mainsail.list_alerts("churn")}
    assert alerts[old.id].count == 2 and alerts[old.id].value == 0.7  # the same alert, moved on
    assert len(alerts) == 2  # "other" has its own
    evaluate(ctx.store, "churn", [rule], {rule.metric: 0.0}, lambda r: {}, 3000, "inputs")
    assert mainsail.list_alerts("churn", state="resolved")[0].id == old.id
