"""Rollouts against a real ``mainsail serve --endpoint`` process under bounded load.

Starting a server costs seconds on a busy machine, so each test walks one server through
several rollouts in a row; every step checks what the clients saw.
"""

from __future__ import annotations

import http.client
import time
from typing import Any

import pandas as pd
import sqlalchemy as sa

import mainsail
from mainsail.store import _tables as t

from .conftest import Load, Reply, python_model, register, send, wait_for, wait_state

CANARY = {
    "steps": [25, 50, 100],
    "interval": 1,
    "threshold": 2,
    "min_requests": 5,
    "min_success_rate": 0.95,
    "max_p99_ms": 250,
}


def _serves(version: int, timeout: float = 10.0) -> None:
    wait_for(
        lambda: [v.version for v in mainsail.get_endpoint("churn").variants] == [version], timeout
    )


def _canary(load: Load, version: int) -> Any:
    mark = len(load.replies)
    r = mainsail.deploy("churn", f"models:/churn/{version}", strategy="canary", spec=CANARY)
    assert r.state == "progressing" and r.weight == 25, r
    done = wait_state("churn", ("promoted", "rolled_back"))
    time.sleep(1.0)  # the server follows within a poll
    return done, load.replies[mark:]


def _expected(model: Any, X: pd.DataFrame) -> list[Any]:
    return list(model.predict(X).tolist())


def test_canaries_good_erroring_and_slow(stable, endpoint_server, controller, ctx) -> None:  # type: ignore[no-untyped-def]
    model, X = stable
    expected = _expected(model, X)
    register(model, X)  # v2: the same good model
    register(python_model("erroring"), X)  # v3: fails for inputs with f0 > 0.3
    register(python_model("slow", delay_s=0.3), X)  # v4: right, but 300 ms per batch
    server = endpoint_server()
    with Load(server.port, X) as load:
        time.sleep(0.3)
        # 1. a good canary walks 25 -> 50 -> 100 and is promoted
        good, seen = _canary(load, 2)
        assert good.state == "promoted", good.message
        steps = [a for a in good.analysis if a["outcome"] in ("advance", "promote")]
        assert [a["weight"] for a in steps] == [25, 50, 100]
        assert all(c["status"] == "pass" for a in steps for c in a["checks"])
        assert {r.variant for r in seen} >= {"stable", "canary"}
        assert all(r.status == 200 and r.predictions == [expected[r.row]] for r in seen)
        _serves(2)
        # 2. an erroring canary, then 3. a slow one, each rolled back by itself
        for version, check in ((3, "success_rate"), (4, "p99_latency_ms")):
            bad, seen = _canary(load, version)
            assert bad.state == "rolled_back", bad
            assert bad.failed_checks == 2
            failed = {c["name"] for a in bad.analysis for c in a["checks"] if c["status"] == "fail"}
            assert failed == {check}, bad.analysis
            errors = [r for r in seen if r.status != 200]
            assert all(r.variant == "canary" for r in errors)  # only the canary's own errors
            assert bool(errors) == (version == 3)
            assert all(r.predictions == [expected[r.row]] for r in seen if r.status == 200)
            _serves(2)
            time.sleep(0.5)
            tail = len(load.replies)
            # at least 10 replies after the rollback settled (a loaded box can stall the
            # clients for a moment), then every one of them is the stable variant's
            deadline = time.monotonic() + 15
            while len(load.replies) - tail < 10 and time.monotonic() < deadline:
                time.sleep(0.1)
            after = load.replies[tail:]
            assert len(after) >= 10, (len(after), load.failures[-3:])
            assert all(r.status == 200 and r.variant == "stable" for r in after)
            assert {r.version for r in after} == {"2"}
    assert load.failures == []
    with ctx.store.db.read() as conn:
        alert = conn.execute(sa.select(t.alerts)).one()  # one alert, fired twice
    assert (alert.fingerprint, alert.rule, alert.severity, alert.state, alert.count) == (
        "rollout:churn",
        "rollout_rolled_back",
        "critical",
        "firing",
        2,
    )
    assert alert.evidence["failed_checks"][0]["name"] == "p99_latency_ms"


def test_blue_green_switch_and_rollback_lose_nothing(stable, endpoint_server, controller) -> None:  # type: ignore[no-untyped-def]
    model, X = stable
    expected = _expected(model, X)
    register(model, X)  # v2
    server = endpoint_server()
    spec = {
        "interval": 1.5,
        "min_requests": 8,
        "rollback_window": 30,
        "max_p99_ms": 500,
        "smoke_url": server.url,  # the controller sends the preview its smoke requests here
    }
    with Load(server.port, X, threads=4) as load:
        time.sleep(0.3)
        r = mainsail.deploy("churn", "models:/churn/2", strategy="blue-green", spec=spec)
        assert r.state == "progressing" and r.weight == 0
        # the preview gets no traffic but answers smoke requests sent with the header
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        smoke: list[Reply] = []
        wait_for(
            lambda: (
                send(conn, X.iloc[0].tolist(), {"x-mainsail-variant": "preview"}, smoke).variant
                == "preview"
            ),
            10,
        )
        conn.close()
        assert all(s.status == 200 for s in smoke) and smoke[-1].version == "2"
        assert load.count("preview") == 0
        done = wait_state("churn", ("promoted", "rolled_back"))
        assert done.state == "promoted", done
        # the switch was decided on the preview's own evidence: the controller's smoke
        # requests (the reference sample), none of them from clients
        smoked = [a["smoke"] for a in done.analysis if a["outcome"] == "smoke"]
        assert smoked and smoked[-1]["answered"] == smoked[-1]["sent"] == 8, done.analysis
        pre = next(a for a in done.analysis if a["outcome"] == "advance" and a["step"] == 0)
        checks = {c["name"]: c for c in pre["checks"]}
        assert checks["smoke_requests"]["status"] == "pass"
        assert checks["success_rate"]["status"] == "pass"
        assert checks["success_rate"]["samples"] >= 8
        wait_for(lambda: load.replies[-1].version == "2", 10)
        switched = len(load.replies)
        time.sleep(0.5)
        # one step back: the old stable is still warm, so the switch back is immediate
        back = mainsail.rollback("churn")
        assert back.state == "rolled_back" and back.to_revision == 4
        _serves(1)
        wait_for(lambda: load.replies[-1].version == "1", 10)
        time.sleep(0.5)
    assert load.failures == []
    assert all(r.status == 200 for r in load.replies)
    assert all(r.predictions == [expected[r.row]] for r in load.replies)
    versions = [r.version for r in load.replies]
    assert versions[0] == "1" and "2" in versions[: switched + 20] and versions[-1] == "1"
    assert load.count("preview") == 0


def test_ab_stickiness_and_shadow(stable, endpoint_server, controller) -> None:  # type: ignore[no-untyped-def]
    model, X = stable
    expected = _expected(model, X)
    register(python_model("rule"), X)  # v2: the rule the data was made with
    register(python_model("shadow-erroring", delay_s=0.05, constant=7), X)  # v3: wrong, slow
    server = endpoint_server()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        _ab_then_shadow(conn, X, expected)
    finally:
        conn.close()


def _ab_then_shadow(conn: http.client.HTTPConnection, X: pd.DataFrame, expected: list[Any]) -> None:
    # A/B: 50/50, sticky by the x-mainsail-key header
    r = mainsail.deploy("churn", "models:/churn/2", strategy="ab", spec={"weights": [50, 50]})
    assert r.state == "progressing"
    row = X.iloc[0].tolist()
    wait_for(lambda: send(conn, row, {}, []).variant in ("a", "b"), 10)
    seen: list[Reply] = []
    for _ in range(3):
        for k in range(40):
            send(conn, X.iloc[k].tolist(), {"x-mainsail-key": f"user-{k}"}, seen)
    arms: dict[str, set[str]] = {}
    for rep in seen:
        arms.setdefault(rep.key or "", set()).add(rep.variant)
    assert all(len(a) == 1 for a in arms.values()), arms  # same key, same arm
    assert {next(iter(a)) for a in arms.values()} == {"a", "b"}  # both arms get keys
    assert all(rep.status == 200 for rep in seen)

    def counted() -> Any:
        rep = mainsail.ab_report("churn")
        return rep if rep.requests["a"] + rep.requests["b"] >= 120 else None

    report = wait_for(counted, 10)
    success = next(c for c in report.comparisons if c.metric == "success_rate")
    assert success.a == success.b == 1.0 and success.p_value == 1.0
    winner = mainsail.declare_winner("churn", "b")
    assert winner.state == "promoted"
    _serves(2)
    wait_for(lambda: send(conn, row, {}, []).version == "2", 10)

    # Shadow: v3 gets copies; clients only ever see v2's answers, at v2's speed
    mainsail.deploy("churn", "models:/churn/3", strategy="shadow", spec={"sample": 1.0})
    wait_for(lambda: mainsail.get_endpoint("churn").variants[-1].role == "shadow", 5)
    time.sleep(1.0)
    shadow_seen: list[Reply] = []
    for k in range(120):
        send(conn, X.iloc[k].tolist(), {}, shadow_seen)
    assert all(rep.status == 200 and rep.variant == "stable" for rep in shadow_seen)
    rule = [int(X.iloc[k]["f0"] + X.iloc[k]["f1"] > 0) for k in range(120)]
    assert [rep.predictions for rep in shadow_seen] == [[v] for v in rule]  # never the 7s

    def compared() -> Any:
        rep = mainsail.shadow_report("churn")
        return rep if rep.compared + rep.shadow_errors + rep.dropped >= 100 else None

    sr = wait_for(compared, 15)
    assert sr.shadow_errors > 0 and sr.compared > 0
    assert sr.agreement == 0.0 and sr.mean_abs_diff is not None and sr.mean_abs_diff > 6
    assert sr.shadow_p50_ms is not None and sr.shadow_p50_ms >= 40
    assert sr.divergence is not None and sr.divergence > 0.5
