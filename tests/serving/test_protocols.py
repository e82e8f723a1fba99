"""Protocol logic, in process (Starlette TestClient)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from starlette.testclient import TestClient

import mainsail
from mainsail.serving import ServeSettings, create_app, read_segments

FEATURES = [f"f{i}" for i in range(20)]


@pytest.fixture
def client(registered, ctx):  # type: ignore[no-untyped-def]
    app = create_app(
        ctx,
        ServeSettings(
            model="models:/churn@champion", max_body_bytes=200_000, log_flush_interval=0.2
        ),
    )
    with TestClient(app) as c:
        yield c


def test_health_and_metadata(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").status_code == 200
    assert client.get("/v2/models/churn/ready").json()["ready"] is True
    meta = client.get("/v2/models/churn").json()
    assert meta["name"] == "churn" and meta["versions"] == ["1"]
    assert [i["name"] for i in meta["inputs"]] == FEATURES
    assert {o["name"] for o in meta["outputs"]} == {"predict", "predict_proba"}
    assert client.get("/v2").json()["name"] == "mainsail"
    assert client.get("/ping").status_code == 200 and client.get("/version").text
    assert client.get("/v2/models/nope").status_code == 404


def test_v2_infer_matrix_and_columns(client, registered) -> None:  # type: ignore[no-untyped-def]
    model, X = registered
    rows = X.head(7)
    body = {
        "id": "req-1",
        "inputs": [
            {
                "name": "x",
                "shape": [7, 20],
                "datatype": "FP64",
                "data": rows.to_numpy().ravel().tolist(),
            }
        ],
        "outputs": [{"name": "predict"}, {"name": "predict_proba"}],
    }
    r = client.post("/v2/models/churn/infer", json=body)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["id"] == "req-1" and doc["model_version"] == "1"
    assert r.headers["x-request-id"] == "req-1"
    preds = doc["outputs"][0]
    assert preds["data"] == model.predict(rows).tolist() and preds["shape"] == [7]
    proba = np.array(doc["outputs"][1]["data"]).reshape(doc["outputs"][1]["shape"])
    np.testing.assert_allclose(proba, model.predict_proba(rows))
    cols = {
        "inputs": [
            {
                "name": c,
                "shape": [7],
                "datatype": "FP32",
                "data": rows[c].astype("float32").tolist(),
            }
            for c in FEATURES
        ]
    }
    r = client.post("/v2/models/churn/versions/1/infer", json=cols)
    assert r.status_code == 200 and r.json()["outputs"][0]["shape"] == [7]


def test_every_mlflow_format(client, registered) -> None:  # type: ignore[no-untyped-def]
    model, X = registered
    rows = X.head(4)
    expected = model.predict(rows).tolist()
    payloads = [
        {"dataframe_split": {"columns": FEATURES, "data": rows.to_numpy().tolist()}},
        {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))},
        {"dataframe_records": rows.to_dict(orient="records")},
        {"instances": rows.to_numpy().tolist()},
        {"instances": rows.to_dict(orient="records")},
        {"inputs": {c: rows[c].tolist() for c in FEATURES}},
        {"inputs": rows.to_numpy().tolist()},
    ]
    for p in payloads:
        r = client.post("/invocations", json=p)
        assert r.status_code == 200, (p.keys(), r.text)
        assert r.json() == {"predictions": expected}
    r = client.post(
        "/invocations", content=rows.to_csv(index=False), headers={"content-type": "text/csv"}
    )
    assert r.json() == {"predictions": expected}
    shuffled = rows[FEATURES[::-1]]
    r = client.post(
        "/invocations",
        json={"dataframe_split": json.loads(shuffled.to_json(orient="split", index=False))},
    )
    assert r.json() == {"predictions": expected}


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "message"),
    [
        (
            "/invocations",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
            "not valid JSON",
        ),
        ("/invocations", {"json": {"rows": []}}, 400, "one of the keys"),
        ("/invocations", {"json": {"instances": [[1.0, 2.0]]}}, 400, "rows of 20 values"),
        (
            "/invocations",
            {"json": {"dataframe_records": [{"f0": 1.0}]}},
            422,
            "Missing input column",
        ),
        (
            "/invocations",
            {"json": {"instances": [[None] + [0.0] * 19]}},
            422,
            "missing value (NaN) in row 0",
        ),
        (
            "/invocations",
            {"json": {"instances": [["forty"] + [0.0] * 19]}},
            422,
            "must be a number",
        ),
        (
            "/invocations",
            {"content": b"a,b\n1,2\n", "headers": {"content-type": "text/csv"}},
            422,
            "Missing input",
        ),
        (
            "/invocations",
            {"content": b"x", "headers": {"content-type": "application/xml"}},
            400,
            "content type",
        ),
        (
            "/v2/models/churn/infer",
            {
                "json": {
                    "inputs": [{"name": "x", "shape": [1, 20], "datatype": "FP99", "data": [0]}]
                }
            },
            400,
            "datatype",
        ),
        (
            "/v2/models/churn/infer",
            {
                "json": {
                    "inputs": [
                        {"name": "x", "shape": [2, 20], "datatype": "FP32", "data": [0] * 20}
                    ]
                }
            },
            400,
            "needs 40 values",
        ),
        (
            "/v2/models/churn/infer",
            {"json": {"inputs": [{"name": "f0", "shape": [1], "datatype": "FP32", "data": [0]}]}},
            422,
            "Missing input tensor",
        ),
        (
            "/v2/models/churn/infer",
            {
                "json": {
                    "inputs": [
                        {"name": "x", "shape": [1, 20], "datatype": "FP32", "data": [0] * 20}
                    ],
                    "outputs": [{"name": "logits"}],
                }
            },
            400,
            "Valid outputs",
        ),
        (
            "/v2/models/churn/infer",
            {
                "json": {
                    "inputs": [
                        {"name": "x", "shape": [1, 20], "datatype": "FP32", "data": [0] * 20}
                    ],
                    "parameters": ["binary_data_output"],
                }
            },
            400,
            "'parameters' must be an object",
        ),
        (
            "/v2/models/churn/infer",
            {
                "content": b'{"inputs": [{"name": "x", "shape": [1, 20], "datatype": "FP32", '
                b'"parameters": {"binary_data_size": "80"}}]}' + bytes(80),
                "headers": {"inference-header-content-length": "107"},
            },
            400,
            "'inputs[0].parameters.binary_data_size' must be a non-negative integer",
        ),
        (
            "/v2/models/churn/infer",
            {
                "content": b'{"inputs": []}',
                "headers": {"inference-header-content-length": "ten"},
            },
            400,
            "Inference-Header-Content-Length",
        ),
        (
            "/invocations",
            {"json": {"dataframe_split": {"columns": "f0,f1", "data": [[0.0] * 20]}}},
            400,
            "'dataframe_split.columns' must be a list",
        ),
        ("/v2/models/ghost/infer", {"json": {"inputs": []}}, 404, "serves: churn"),
        ("/v2/models/churn/versions/9/infer", {"json": {"inputs": []}}, 404, "Served version: 1"),
        ("/invocations", {"json": {"instances": [[0.0] * 20] * 5000}}, 413, "limit"),
    ],
)
def test_bad_input_gets_a_clear_4xx(client, path, kwargs, status, message) -> None:  # type: ignore[no-untyped-def]
    r = client.post(path, **kwargs)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]


def test_feedback_and_prediction_log(client, ctx) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/invocations", json={"instances": [[0.5] * 20, [-0.5] * 20]})
    rid = r.headers["x-request-id"]
    fb = client.post("/v1/feedback", json=[{"request_id": rid, "label": 1}])
    assert fb.json() == {"accepted": 1}
    assert client.post("/v1/feedback", json=[{"label": 1}]).status_code == 400
    client.app.state.plane.predictions.flush()
    client.app.state.plane.feedback.flush()
    root = ctx.settings.resolved_artifact_root()
    preds = read_segments(root, "predictions", "churn")
    mine = preds[preds["request_id"] == rid]
    assert len(mine) == 2 and list(mine["row"]) == [0, 1]
    assert set(mine.columns) >= {
        "ts",
        "model_version",
        "variant",
        "latency_ms",
        "prediction",
        "input.f0",
    }
    labels = read_segments(root, "feedback", "churn")
    assert list(labels["request_id"]) == [rid]


def test_feedback_without_a_log_is_refused_not_accepted(registered, ctx) -> None:  # type: ignore[no-untyped-def]
    app = create_app(ctx, ServeSettings(model="models:/churn@champion", log_predictions=False))
    with TestClient(app) as c:
        r = c.post("/invocations", json={"instances": [[0.5] * 20]})
        assert r.status_code == 200
        fb = c.post("/v1/feedback", json=[{"request_id": r.headers["x-request-id"], "label": 1}])
        assert fb.status_code == 409, fb.text
        assert "not stored" in fb.json()["error"] and "--no-log" in fb.json()["error"]
        assert c.post("/v1/feedback", json=[{"label": 1}]).status_code == 400  # bad body first
    assert read_segments(ctx.settings.resolved_artifact_root(), "feedback", "churn").empty


def test_metrics_have_model_labels(client) -> None:  # type: ignore[no-untyped-def]
    client.post("/invocations", json={"instances": [[0.0] * 20]})
    client.post("/invocations", json={"instances": [[0.0]]})
    text = client.get("/metrics").text
    assert (
        'mainsail_requests_total{code="200",model_name="churn",model_version="1",protocol="mlflow",variant="stable"}'
        in text
    )
    assert (
        'mainsail_errors_total{model_name="churn",model_version="1",reason="PayloadError",variant="stable"}'
        in text
    )
    assert (
        'stage="queue"' in text
        and 'stage="compute"' in text
        and "mainsail_batch_rows_bucket" in text
    )


def test_serving_without_anything_is_a_clear_error(ctx) -> None:  # type: ignore[no-untyped-def]
    from mainsail.core import MainsailError

    with pytest.raises(MainsailError, match="Nothing to serve"):
        create_app(ctx, ServeSettings())


def test_model_dir_serving(registered, ctx) -> None:  # type: ignore[no-untyped-def]
    import mainsail
    from mainsail.registry import materialise

    model, X = registered
    folder = materialise(ctx, mainsail.get_model_version("models:/churn/1"))
    app = create_app(
        ctx, ServeSettings(model_dir=str(folder), endpoint="churn", log_predictions=False)
    )
    with TestClient(app) as c:
        r = c.post("/invocations", json={"dataframe_records": X.head(3).to_dict(orient="records")})
        assert r.json()["predictions"] == model.predict(X.head(3)).tolist()


def test_frame_is_not_mutated_by_concurrent_batches(client, registered) -> None:  # type: ignore[no-untyped-def]
    model, X = registered
    from concurrent.futures import ThreadPoolExecutor

    rows = [X.iloc[[i]] for i in range(40)]

    def call(frame: pd.DataFrame) -> list[int]:
        return client.post("/invocations", json={"instances": frame.to_numpy().tolist()}).json()[
            "predictions"
        ]

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(call, rows))
    assert [g[0] for g in got] == model.predict(X.head(40)).tolist()


def test_refused_requests_show_in_data_quality_and_alert(registered, ctx) -> None:  # type: ignore[no-untyped-def]
    """Upstream renamed a column: every request is refused, no row is logged, and still the
    monitor's data quality names the column (and the one that arrived instead) and alerts."""
    model, X = registered
    app = create_app(ctx, ServeSettings(model="models:/churn@champion"))
    renamed = [{("f0_v2" if k == "f0" else k): v for k, v in r.items()} for r in
               X.head(3).to_dict(orient="records")]  # fmt: skip
    with TestClient(app) as c:
        for _ in range(4):
            r = c.post("/invocations", json={"dataframe_records": renamed})
            assert r.status_code == 422 and "f0" in r.json()["error"]
        bad = X.head(1).to_numpy().tolist()
        bad[0][3] = "three"
        r = c.post("/invocations", json={"dataframe_split": {"columns": FEATURES, "data": bad}})
        assert r.status_code == 422
        r = c.post("/invocations", json={"dataframe_split": {"columns": 3, "data": bad}})
        assert r.status_code == 400  # malformed: counted, but not a data-quality issue
    mainsail.create_monitor(
        "churn",
        checks=["quality"],
        window="1h",
        rules=[{"name": "schema", "metric": "quality.schema_issues", "op": ">=", "threshold": 1}],
    )
    result = mainsail.run_monitor("churn")
    assert result.model_version == "1" and result.quality is not None
    issues = {(i.check, i.column): i for i in result.quality.issues}
    missing = issues[("schema", "f0")]
    assert missing.count == 4 and "f0_v2" in missing.message and "renamed" in missing.message
    assert issues[("schema", "f0_v2")].count == 4
    assert issues[("type", "f3")].count == 1
    assert not [i for i in result.quality.issues if i.column == "dataframe_split.columns"]
    assert [a.rule for a in result.alerts] == ["schema"]
