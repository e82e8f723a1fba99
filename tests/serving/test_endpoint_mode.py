"""Endpoint mode in process: variants from the store, V2 reporting, version paths, hot switch."""

from __future__ import annotations

import time

from starlette.testclient import TestClient

import mainsail
from mainsail.serving import ServeSettings, create_app


def test_endpoint_mode_routes_reports_and_follows_revisions(registered) -> None:  # type: ignore[no-untyped-def]
    model, X = registered
    mainsail.register_model(model, name="churn", input_example=X.head(), reference=X)
    mainsail.deploy("churn", "models:/churn/1")
    mainsail.deploy("churn", "models:/churn/2", strategy="blue-green", spec={"interval": 60})
    settings = ServeSettings(
        endpoint="churn", endpoint_poll_s=0.1, stats_flush_s=0.1, stats_window_s=1,
        log_predictions=False,
    )  # fmt: skip
    rows = X.head(2).to_numpy()
    body = {"inputs": [{"name": "input", "shape": list(rows.shape), "datatype": "FP64",
                        "data": rows.reshape(-1).tolist()}]}  # fmt: skip
    with TestClient(create_app(mainsail.get_context(), settings)) as client:
        r = client.post("/v2/models/churn/infer", json=body)
        assert r.status_code == 200 and r.headers["x-mainsail-variant"] == "stable"
        doc = r.json()
        assert doc["model_version"] == "1" and doc["parameters"] == {"variant": "stable"}
        assert doc["outputs"][0]["data"] == model.predict(X.head(2)).tolist()
        r = client.post("/v2/models/churn/versions/2/infer", json=body)  # the preview, by version
        assert r.status_code == 200 and r.headers["x-mainsail-variant"] == "preview"
        r = client.post("/v2/models/churn/versions/7/infer", json=body)
        assert r.status_code == 404 and "Served versions: 1, 2" in r.json()["error"]
        r = client.post("/v2/models/other/infer", json=body)
        assert r.status_code == 404
        r = client.post("/invocations", json={"instances": rows.tolist()},
                        headers={"x-mainsail-variant": "preview"})  # fmt: skip
        assert (
            r.headers["x-mainsail-variant"] == "preview"
            and r.headers["x-mainsail-model-version"] == "2"
        )
        mainsail.promote("churn")  # the switch: v2 is stable now
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = client.post("/invocations", json={"instances": rows.tolist()})
            if r.headers["x-mainsail-model-version"] == "2":
                break
            time.sleep(0.1)
        assert (
            r.headers["x-mainsail-model-version"] == "2"
            and r.headers["x-mainsail-variant"] == "stable"
        )
        plane = client.app.state.plane  # type: ignore[attr-defined]
        assert "models:/churn/1" in plane.retired  # warm through the rollback window
        wanted = {("stable", "1"), ("preview", "2"), ("stable", "2")}
        stats_deadline = time.monotonic() + 10
        while time.monotonic() < stats_deadline:
            rows_ = mainsail.get_context().store.read_serving_stats("churn")
            variants = {(r_["variant"], r_["model_version"]) for r_ in rows_}
            if wanted <= variants:
                break
            time.sleep(0.1)
        assert wanted <= variants  # per-variant stats reached the store


def test_a_shadow_cannot_be_addressed_by_header(registered) -> None:  # type: ignore[no-untyped-def]
    model, X = registered
    mainsail.register_model(model, name="churn", input_example=X.head(), reference=X)
    mainsail.deploy("churn", "models:/churn/1")
    mainsail.deploy("churn", "models:/churn/2", strategy="shadow", spec={"sample": 1.0})
    settings = ServeSettings(endpoint="churn", endpoint_poll_s=0, log_predictions=False)
    rows = X.head(2).to_numpy().tolist()
    with TestClient(create_app(mainsail.get_context(), settings)) as client:
        plane = client.app.state.plane  # type: ignore[attr-defined]
        assert [m.variant for m in plane.router.shadows] == ["shadow"]
        for headers in ({"x-mainsail-variant": "shadow"}, {}):
            r = client.post("/invocations", json={"instances": rows}, headers=headers)
            assert r.status_code == 200
            assert r.headers["x-mainsail-variant"] == "stable"
            assert r.headers["x-mainsail-model-version"] == "1"
        r = client.post("/v2/models/churn/versions/2/infer", json={"inputs": [
            {"name": "input", "shape": [2, 20], "datatype": "FP64",
             "data": [v for row in rows for v in row]}]})  # fmt: skip
        assert r.status_code == 404 and "Served versions: 1." in r.json()["error"]
