"""``POST /api/v1/models/{name}/versions/{v}/explain``: the route's answers and its 4xx."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from mainsail.client._context import Context

from ._domains import register_models

URL = "/api/v1/models/clf/versions/1/explain"
ROWS = {"columns": ["a", "b", "c"], "data": [[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]]}
BACKGROUND = {"columns": ["a", "b", "c"], "data": [[0, 0, 0], [1, 1, 1], [-1, 0, 2]]}


def test_explain_route(server_ctx: Context, client_for: Callable[..., TestClient]) -> None:
    register_models(server_ctx)
    viewer = client_for("viewer")
    resp = viewer.post(URL, json={"data": ROWS, "background": BACKGROUND})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["method"] == "linear" and body["feature_names"] == ["a", "b", "c"]
    assert body["data"] == ROWS and len(body["values"]) == 2 and body["background_rows"] == 3
    assert body["additivity_error"] < 1e-9

    def error(json: object, url: str = URL) -> tuple[int, str]:
        r = viewer.post(url, json=json)
        return r.status_code, r.text

    status, text = error({"data": {"columns": ["a", "b"], "data": [[1.0, 2.0, 3.0]]}})
    assert status == 422 and "Row 0 is [1.0, 2.0, 3.0]" in text and "a list of 2 values" in text
    status, text = error({"data": {"columns": ["a", "b"], "data": [[1.0, 2.0]]}})
    assert status == 422 and "Missing input column" in text and "c" in text
    status, text = error({"data": ROWS, "method": "nope"})
    assert status == 422 and "Valid methods are" in text
    status, text = error({"data": ROWS, "method": "permutation", "options": {"method": "tree"}})
    assert status == 422 and "options may not hold method" in text
    status, text = error({"data": ROWS}, "/api/v1/models/clf/versions/9/explain")
    assert status == 404
    assert client_for(None).post(URL, json={"data": ROWS}).status_code == 401
