"""What only a real server process on 127.0.0.1 shows: keep-alive, hot swap, SIGTERM drain."""

from __future__ import annotations

import http.client
import statistics
import threading
import time

import numpy as np
import orjson
import pandas as pd

import mainsail
from mainsail.serving import read_segments

FEATURES = [f"f{i}" for i in range(20)]


def _body(rows: pd.DataFrame) -> bytes:
    return orjson.dumps({"instances": rows.to_numpy().tolist()})


def test_keep_alive_with_several_workers(registered, server_factory) -> None:  # type: ignore[no-untyped-def]
    model, X = registered
    server = server_factory("models:/churn@champion", "--workers", "2")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    body = _body(X.head(1))
    times = []
    for _ in range(60):
        t = time.perf_counter()
        conn.request("POST", "/invocations", body, {"content-type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        times.append(time.perf_counter() - t)
        assert (
            resp.status == 200
            and orjson.loads(data)["predictions"] == model.predict(X.head(1)).tolist()
        )
    conn.close()
    # Without TCP_NODELAY each keep-alive request stalls ~40 ms on delayed ACKs.
    assert statistics.median(times[10:]) < 0.02, times
    metrics = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
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


def test_tritonclient_round_trip(registered, server_factory) -> None:  # type: ignore[no-untyped-def]
    import tritonclient.http as httpclient

    model, X = registered
    server = server_factory("models:/churn@champion")
    client = httpclient.InferenceServerClient(url=f"127.0.0.1:{server.port}")
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


def test_mlflow_formats_over_a_real_socket(registered, server_factory) -> None:  # type: ignore[no-untyped-def]
    import httpx

    model, X = registered
    server = server_factory("models:/churn@champion")
    rows = X.head(3)
    expected = {"predictions": model.predict(rows).tolist()}
    with httpx.Client(base_url=server.url) as c:
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
