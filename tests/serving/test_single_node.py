"""``mainsail serve --endpoint`` with no controllers process: single-node mode.

A canary used to sit at its first step forever, silently: nothing ran the rollout
controller. The endpoint's server now leads the controllers whenever no other process does,
and with ``--no-controllers`` it warns loudly instead.
"""

from __future__ import annotations

import http.client
import threading
import time

import orjson

import mainsail

FAST = {
    "MAINSAIL_SERVE_ENDPOINT_POLL_S": "0.2",
    "MAINSAIL_SERVE_STATS_WINDOW_S": "1",
    "MAINSAIL_SERVE_STATS_FLUSH_S": "0.3",
}
CANARY = {"steps": [50, 100], "interval": 1, "min_requests": 3, "max_p99_ms": 2000}


def test_endpoint_server_drives_a_canary_without_a_controllers_process(
    registered, server_factory
) -> None:  # type: ignore[no-untyped-def]
    model, X = registered
    mainsail.register_model(model, name="churn", input_example=X.head(), reference=X)
    mainsail.deploy("churn", "models:/churn/1")
    server = server_factory("--endpoint", "churn", env=FAST)
    stop = threading.Event()
    statuses: list[int] = []

    def load() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        body = orjson.dumps({"instances": X.head(1).to_numpy().tolist()})
        while not stop.is_set():
            conn.request("POST", "/invocations", body, {"content-type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
            time.sleep(0.02)
        conn.close()

    thread = threading.Thread(target=load)
    thread.start()
    try:
        r = mainsail.deploy("churn", "models:/churn/2", strategy="canary", spec=CANARY)
        assert r.state == "progressing"
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            r = mainsail.get_rollout("churn")
            if r is not None and r.state != "progressing":
                break
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join()
    assert r is not None and r.state == "promoted", r
    assert [v.version for v in mainsail.get_endpoint("churn").variants] == [2]
    assert statuses and set(statuses) == {200}
    assert "single-node mode" in server.stop()


def test_no_controllers_warns_loudly(registered, server_factory) -> None:  # type: ignore[no-untyped-def]
    model, X = registered
    mainsail.register_model(model, name="churn", input_example=X.head(), reference=X)
    mainsail.deploy("churn", "models:/churn/1")
    mainsail.deploy("churn", "models:/churn/2", strategy="canary", spec=CANARY)
    server = server_factory("--endpoint", "churn", "--no-controllers", env=FAST)
    time.sleep(2.5)  # a controller would have advanced the canary by now
    assert mainsail.get_rollout("churn").weight == 50  # type: ignore[union-attr]
    output = server.stop()
    assert "WARNING: no process runs the controllers" in output
    assert "variants: stable, canary" in output and "mainsail controllers run" in output
