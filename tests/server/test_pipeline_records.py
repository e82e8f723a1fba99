"""The step-run records a remote pipeline writes: a PATCH cannot store what breaks reads."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

API = "/api/v1"
RUN = "a" * 32


@pytest.mark.parametrize("field", ["inputs", "outputs", "status"])
def test_patching_a_step_run_refuses_null_for_a_required_field(
    client_for: Callable[..., TestClient], field: str
) -> None:
    dev = client_for("developer")
    run = {"id": RUN, "pipeline": "p", "executor": "local"}
    assert dev.post(f"{API}/pipeline-runs", json=run).status_code == 201
    step = {"step": "s", "cache_key": "", "status": "running", "error": "boom", "started_at": 1}
    sid = dev.post(f"{API}/pipeline-runs/{RUN}/step-runs", json=step).json()["id"]
    r = dev.patch(f"{API}/step-runs/{sid}", json={field: None})
    assert r.status_code == 422, r.text
    assert f"body.{field}: Value error, {field} cannot be null" in r.json()["error"]
    assert "omit the field to keep the stored value" in r.json()["error"]
    # nothing was stored: every read still works; nullable fields may still be cleared
    cleared = {"error": None, "started_at": None, "reason": None, "outputs": {}}
    assert dev.patch(f"{API}/step-runs/{sid}", json=cleared).status_code == 204
    (row,) = dev.get(f"{API}/pipeline-runs/{RUN}/step-runs").json()
    assert (row["status"], row["inputs"], row["error"], row["started_at"]) == (
        "running",
        {},
        None,
        None,
    )
    assert dev.get(f"{API}/pipeline-runs/{RUN}").json()["steps"][0]["status"] == "running"
    assert dev.get(f"{API}/pipeline-runs/{RUN}/why-rerun").status_code == 200
