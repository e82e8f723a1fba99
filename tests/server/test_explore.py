"""The UI's read routes: a page of the run table, a downsampled series; the UI at ``/``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mainsail.server import create_app


@pytest.fixture
def runs(server_ctx: Any) -> Any:
    store = server_ctx.store
    for i in range(30):
        exp = "alpha" if i < 20 else "beta"
        store.create_run(
            f"r{i:02d}",
            exp,
            f"run-{i:02d}",
            params={"lr": i % 3, "opt": "ab"[i % 2]},
            start_time=1000 + i,
        )
        store.end_run(
            f"r{i:02d}", "finished", [("loss", 1.0 / (i + 1), 0, 5), ("acc", i / 30, 0, 5)]
        )
    store.create_run("long", "alpha", "long", start_time=1)
    store.log_metrics("long", [("loss", float(s % 50), s, 10 * s) for s in range(10_000)])
    return server_ctx


def test_a_page_of_runs_with_chosen_columns_and_the_total(
    runs: Any, client_for: Callable[..., Any]
) -> None:
    c = client_for("viewer")
    page = c.get(
        "/api/v1/run-table",
        params={"experiment": "alpha", "limit": 5, "offset": 5, "metric": "loss", "param": "opt"},
    ).json()
    assert page["total"] == 21 and page["offset"] == 5 and len(page["rows"]) == 5
    assert [r["name"] for r in page["rows"]] == [
        f"run-{i:02d}" for i in range(14, 9, -1)
    ]  # newest first
    row = page["rows"][0]
    assert set(row["metrics"]) == {"loss"} and set(row["params"]) == {"opt"}
    assert page["columns"] == {"params": ["opt"], "metrics": ["loss"]} and page["keys"] is None

    first = c.get("/api/v1/run-table", params={"keys": "true", "auto_columns": 2}).json()
    assert first["total"] == 31
    assert first["keys"] == {"params": ["lr", "opt"], "metrics": ["acc", "loss"]}
    assert first["columns"] == {"params": ["lr"], "metrics": ["acc"]}

    ordered = c.get(
        "/api/v1/run-table",
        params={"order_by": "metrics.loss ASC", "metric": "loss", "filter": "params.opt = 'b'"},
    ).json()
    losses = [r["metrics"]["loss"] for r in ordered["rows"]]
    assert ordered["total"] == 15 and losses == sorted(losses)


def test_a_bad_filter_is_the_parsers_message(runs: Any, client_for: Callable[..., Any]) -> None:
    resp = client_for("viewer").get("/api/v1/run-table", params={"filter": "metrics.loss >> 1"})
    assert resp.status_code == 422
    assert "Invalid filter at position" in resp.json()["error"] and "^" in resp.json()["error"]
    bad = client_for("viewer").get("/api/v1/run-table", params={"limit": 0})
    assert bad.status_code == 422


def test_the_table_shows_only_experiments_the_caller_may_read(
    runs: Any, client_for: Callable[..., Any]
) -> None:
    from mainsail.security import create_user_with_token

    token = create_user_with_token(runs.store, "beta-only", "viewer", "beta").token
    c = client_for(token=token)
    page = c.get("/api/v1/run-table").json()
    assert page["total"] == 10 and {r["experiment"] for r in page["rows"]} == {"beta"}
    assert c.get("/api/v1/run-table", params={"experiment": "alpha"}).status_code == 403
    assert c.get("/api/v1/runs/long/metric-series", params={"key": "loss"}).status_code == 403


def test_a_long_series_is_downsampled_and_a_range_is_fetched_again(
    runs: Any, client_for: Callable[..., Any]
) -> None:
    c = client_for("viewer")
    full = c.get("/api/v1/runs/long/metric-series", params={"key": "loss", "points": 500}).json()
    assert full["total"] == full["in_range"] == 10_000 and full["downsampled"]
    assert len(full["value"]) == len(full["step"]) == len(full["ts"]) == 500
    assert full["step"][0] == 0 and full["step"][-1] == 9_999 and full["ts"][-1] == 99_990
    assert max(full["value"]) == 49.0  # the peaks survive
    zoom = c.get(
        "/api/v1/runs/long/metric-series",
        params={"key": "loss", "points": 500, "min_step": 1000, "max_step": 1199},
    ).json()
    assert zoom["total"] == 10_000 and zoom["in_range"] == 200 and not zoom["downsampled"]
    assert zoom["step"] == list(range(1000, 1200))
    spikes = c.get(
        "/api/v1/runs/long/metric-series", params={"key": "loss", "points": 100, "method": "minmax"}
    ).json()
    assert spikes["method"] == "minmax" and len(spikes["value"]) <= 100
    missing = c.get("/api/v1/runs/nope/metric-series", params={"key": "loss"})
    assert missing.status_code == 404 and "No run with id 'nope'" in missing.json()["error"]
    assert c.get("/api/v1/runs/long/metric-series", params={"key": "nokey"}).json()["total"] == 0
    bad = c.get("/api/v1/runs/long/metric-series", params={"key": "loss", "method": "median"})
    assert bad.status_code == 422 and "lttb, minmax" in bad.json()["error"]


def test_a_running_series_is_read_afresh_and_an_ended_one_is_kept(
    runs: Any, client_for: Callable[..., Any]
) -> None:
    c = client_for("viewer")
    ask = {"key": "loss", "points": 500}
    assert c.get("/api/v1/runs/long/metric-series", params=ask).json()["total"] == 10_000
    runs.store.log_metrics("long", [("loss", 99.0, 10_000, 100_000)])  # still running
    live = c.get("/api/v1/runs/long/metric-series", params=ask).json()
    assert live["total"] == 10_001 and live["value"][-1] == 99.0
    runs.store.end_run("long", "finished", [("loss", 98.0, 10_001, 100_010)])
    ended = c.get("/api/v1/runs/long/metric-series", params=ask).json()
    assert ended["total"] == 10_002 and ended["value"][-1] == 98.0
    assert c.get("/api/v1/runs/long/metric-series", params=ask).json() == ended


def test_the_ui_is_served_at_every_page_url_and_nowhere_else(server_ctx: Any) -> None:
    with TestClient(create_app(server_ctx, auth=True)) as c:
        for path in ("/", "/runs", "/runs/abc", "/models/churn/versions/2", "/admin"):
            resp = c.get(path)
            assert resp.status_code == 200, path
            assert '<div id="app">' in resp.text and resp.headers["cache-control"] == "no-cache"
            assert '<meta name="mainsail-auth" content="on">' in resp.text
        asset = c.get(resp.text.split('src="')[1].split('"')[0])
        assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
        assert c.get("/ui-assets/nope.js").status_code == 404
        assert c.get("/v2/models").status_code == 404  # left to the data plane, if mounted
        assert c.get("/api/v1/runs").status_code == 401  # the API still needs a token
    with TestClient(create_app(server_ctx, auth=False)) as c:
        assert '<meta name="mainsail-auth" content="off">' in c.get("/").text
    with TestClient(create_app(server_ctx, ui=False)) as c:
        assert c.get("/").status_code == 404
