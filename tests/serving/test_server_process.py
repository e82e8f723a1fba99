"""What only a real server process on 127.0.0.1 shows: keep-alive, hot swap, SIGTERM drain.

Starting a server costs seconds on a busy machine: the read-only tests share one
two-worker server (``shared``); hot swap and SIGTERM change or stop theirs, so they start
their own.
"""

from __future__ import annotations

import http.client
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

import mainsail
from mainsail.serving import read_segments

from .conftest import ServerProcess

FEATURES = [f"f{i}" for i in range(20)]


def _body(rows: pd.DataFrame) -> bytes:
    return orjson.dumps({"instances": rows.to_numpy().tolist()})


@pytest.fixture(scope="module")
def shared(
    _registered_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """``mainsail serve models:/churn@champion --workers 2`` on a copy of the registered home.

    Its tests only read: none moves the alias or stops the server.
    """
    home = tmp_path_factory.mktemp("serving-shared") / "home"
    shutil.copytree(_registered_home, home)
    with pytest.MonkeyPatch.context() as mp:  # module setup runs before _isolated_env
        for key in [k for k in os.environ if k.startswith("MAINSAIL_")]:
            mp.delenv(key)
        server = ServerProcess(home, ["models:/churn@champion", "--workers", "2"])
    yield server
    server.stop()


def _quartile_ms(conn: http.client.HTTPConnection, body: bytes, expected: Any, n: int) -> float:
    """The lower quartile of ``n`` keep-alive round trips, in milliseconds."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        conn.request("POST", "/invocations", body, {"content-type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        times.append(time.perf_counter() - t)
        assert resp.status == 200 and orjson.loads(data)["predictions"] == expected
    return 1000 * sorted(times)[n // 4]


def test_keep_alive_with_several_workers(trained, shared) -> None:  # type: ignore[no-untyped-def]
    model, X = trained
    conn = http.client.HTTPConnection("127.0.0.1", shared.port, timeout=10)
    body = _body(X.head(1))
    expected = model.predict(X.head(1)).tolist()
    _quartile_ms(conn, body, expected, 10)  # warm up the connection and the worker
    # Without TCP_NODELAY every keep-alive request stalls ~40 ms on delayed ACKs, so not
    # even a quarter of them come back fast. Load on a shared machine slows some requests
    # down (never all of them by 40 ms): judge the lower quartile, and give it 3 tries.
    rounds = []
    for _ in range(3):
        rounds.append(_quartile_ms(conn, body, expected, 40))
        if rounds[-1] < 20:
            break
    conn.close()
    assert rounds[-1] < 20, f"lower-quartile round trip per try (ms): {rounds}"
    metrics = http.client.HTTPConnection("127.0.0.1", shared.port, timeout=10)
    metrics.request("GET", "/metrics")
    text = metrics.getresponse().read().decode()
    metrics.close()
    assert 'protocol="mlflow"' in text  # multiprocess collector sums across workers


def test_hot_swap_under_load_loses_nothing(registered, server_factory, trained) -> None:  # type: ignore[no-untyped-def]
    model, X = registered
    server = server_factory(
        "models:/churn@champion", env={"MAINSAIL_SERVE_RELOAD_INTERVAL_S": "0.3"}
    )
    stop = threading.Event()
    failures: list[str] = []
    versions: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        body = _body(X.head(2))
        while not stop.is_set():
            try:
                conn.request("POST", "/invocations", body, {"content-type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    failures.append(str(resp.status))
                versions.append(resp.getheader("x-mainsail-model-version") or "")
            except Exception as exc:  # noqa: BLE001
                failures.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    mainsail.register_model(model, name="churn", input_example=X.head(), reference=X)
    mainsail.set_alias("churn", "champion", 2)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not versions or versions[-1] != "2"):
        time.sleep(0.1)
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    assert failures == []
    assert "1" in versions and versions[-1] == "2"


def test_hot_swap_while_request_bodies_are_still_uploading(registered, server_factory) -> None:  # type: ignore[no-untyped-def]
    """A request whose body is still arriving when the alias moves is answered, by the new model.

    The model used to be picked before the body was read: the swap closed the old batcher
    meanwhile, and the request then waited forever on a queue nobody served.
    """
    model, X = registered
    server = server_factory(
        "models:/churn@champion", env={"MAINSAIL_SERVE_RELOAD_INTERVAL_S": "0.2"}
    )
    body = _body(X.head(3))
    expected = model.predict(X.head(3)).tolist()
    stop = threading.Event()
    failures: list[str] = []
    versions: list[str] = []

    def load() -> None:  # fast clients all along
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        while not stop.is_set():
            try:
                conn.request("POST", "/invocations", body, {"content-type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    failures.append(str(resp.status))
                versions.append(resp.getheader("x-mainsail-model-version") or "")
            except Exception as exc:  # noqa: BLE001
                failures.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.close()

    slow = []
    for _ in range(3):  # headers and half the body sent: the server has started the request
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
        conn.putrequest("POST", "/invocations")
        conn.putheader("content-type", "application/json")
        conn.putheader("content-length", str(len(body)))
        conn.endheaders()
        conn.send(body[: len(body) // 2])
        slow.append(conn)
    threads = [threading.Thread(target=load) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        mainsail.register_model(model, name="churn", input_example=X.head(), reference=X)
        mainsail.set_alias("churn", "champion", 2)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not versions or versions[-1] != "2"):
            time.sleep(0.1)
        assert versions and versions[-1] == "2", "the server never swapped to version 2"
        time.sleep(1.0)  # the old model is drained and unloaded by now
        for conn in slow:
            conn.send(body[len(body) // 2 :])
        for conn in slow:
            resp = conn.getresponse()  # hung until the socket timeout before the fix
            data = resp.read()
            assert resp.status == 200, data
            assert orjson.loads(data)["predictions"] == expected
            assert resp.getheader("x-mainsail-model-version") == "2"
            conn.close()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == []


def test_sigterm_drains_and_flushes_the_log(registered, server_factory, ctx) -> None:  # type: ignore[no-untyped-def]
    model, X = registered
    server = server_factory(
        "models:/churn@champion", env={"MAINSAIL_SERVE_LOG_FLUSH_INTERVAL": "60"}
    )
    ok_ids: list[str] = []
    errors: list[str] = []

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        for _ in range(n):
            try:
                conn.request(
                    "POST", "/invocations", _body(X.head(3)), {"content-type": "application/json"}
                )
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    ok_ids.append(resp.getheader("x-request-id") or "")
            except Exception as exc:  # noqa: BLE001 - connections refused after shutdown begins
                errors.append(repr(exc))
                break
        conn.close()

    threads = [threading.Thread(target=client, args=(200,)) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.8)
    output = server.stop()  # SIGTERM while requests are in flight
    for t in threads:
        t.join()
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why.
    assert server.proc.returncode in (0, -15)
    assert "Traceback" not in output and "shutdown failed" not in output
    logged = read_segments(ctx.settings.resolved_artifact_root(), "predictions", "churn")
    assert len(ok_ids) > 10
    assert set(ok_ids) <= set(logged["request_id"])  # every answered request was logged
    assert len(logged) == 3 * len(set(logged["request_id"]))


def test_tritonclient_round_trip(trained, shared) -> None:  # type: ignore[no-untyped-def]
    import tritonclient.http as httpclient

    model, X = trained
    client = httpclient.InferenceServerClient(url=f"127.0.0.1:{shared.port}")
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("churn")
    meta = client.get_model_metadata("churn")
    assert [i["name"] for i in meta["inputs"]] == FEATURES
    rows = X.head(5).to_numpy(dtype=np.float32)
    for binary in (True, False):
        inp = httpclient.InferInput("input", list(rows.shape), "FP32")
        inp.set_data_from_numpy(rows, binary_data=binary)
        outs = [
            httpclient.InferRequestedOutput("predict", binary_data=binary),
            httpclient.InferRequestedOutput("predict_proba", binary_data=binary),
        ]
        result = client.infer("churn", [inp], outputs=outs, request_id="tc-1")
        np.testing.assert_array_equal(
            result.as_numpy("predict"), model.predict(X.head(5).astype(np.float32))
        )
        np.testing.assert_allclose(
            result.as_numpy("predict_proba"),
            model.predict_proba(X.head(5).astype(np.float32)),
            rtol=1e-6,
        )
        assert result.get_response()["id"] == "tc-1"
    client.close()


def test_mlflow_formats_over_a_real_socket(trained, shared) -> None:  # type: ignore[no-untyped-def]
    import httpx

    model, X = trained
    rows = X.head(3)
    expected = {"predictions": model.predict(rows).tolist()}
    with httpx.Client(base_url=shared.url) as c:
        for body in (
            {"dataframe_split": {"columns": FEATURES, "data": rows.to_numpy().tolist()}},
            {"dataframe_records": rows.to_dict(orient="records")},
            {"instances": rows.to_numpy().tolist()},
            {"inputs": rows.to_numpy().tolist()},
        ):
            assert c.post("/invocations", json=body).json() == expected
        r = c.post(
            "/invocations", content=rows.to_csv(index=False), headers={"content-type": "text/csv"}
        )
        assert r.json() == expected
        assert c.get("/ping").status_code == 200 and c.get("/health").status_code == 200


def test_sigkill_under_load_loses_no_answered_request(registered, server_factory, ctx) -> None:  # type: ignore[no-untyped-def]
    """Every answered request reaches the log after a SIGKILL of the server (and of its log
    writer): the journal holds each batch before its reply is sent, and the next start
    recovers what nobody wrote."""
    import signal

    import psutil

    model, X = registered
    server = server_factory(
        "models:/churn@champion", env={"MAINSAIL_SERVE_LOG_FLUSH_INTERVAL": "60"}
    )
    ok_ids: list[str] = []
    stop = threading.Event()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        while not stop.is_set():
            try:
                conn.request(
                    "POST", "/invocations", _body(X.head(2)), {"content-type": "application/json"}
                )
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    ok_ids.append(resp.getheader("x-request-id") or "")
            except Exception:  # noqa: BLE001 - the server is killed under the clients
                break
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    family = [server.proc.pid] + [c.pid for c in psutil.Process(server.proc.pid).children(True)]
    for pid in family:  # the server and its log writer, at once: nothing flushes
        os.kill(pid, signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join()
    server.stop()
    root = ctx.settings.resolved_artifact_root()
    assert len(ok_ids) > 50
    logged = read_segments(root, "predictions", "churn")
    assert logged.empty or len(set(ok_ids) - set(logged["request_id"])) > 0  # all in the journal
    again = server_factory("models:/churn@champion")  # recovers the journal on start
    again.stop()
    logged = read_segments(root, "predictions", "churn")
    assert set(ok_ids) - set(logged["request_id"]) == set()
    assert len(logged) == 2 * len(set(logged["request_id"]))  # nothing written twice
