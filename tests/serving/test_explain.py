"""The explain routes of ``mainsail serve``, over a real server process on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from mainsail.explanations import explain

from .conftest import ServerProcess


@pytest.fixture(scope="module")
def server(
    _registered_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """``mainsail serve models:/churn@champion`` (HGB, 20 features) on a copy of the home."""
    home = tmp_path_factory.mktemp("serving-explain") / "home"
    shutil.copytree(_registered_home, home)
    with pytest.MonkeyPatch.context() as mp:  # module setup runs before _isolated_env
        for key in [k for k in os.environ if k.startswith("MAINSAIL_")]:
            mp.delenv(key)
        srv = ServerProcess(home, ["models:/churn@champion"])
    yield srv
    srv.stop()


def _v2(rows: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    tensor = {
        "name": "input",
        "shape": list(rows.shape),
        "datatype": "FP64",
        "data": rows.to_numpy().reshape(-1).tolist(),
    }
    return {"inputs": [tensor], **extra}


def test_v2_explain_adds_up_and_matches_the_sdk(server, trained) -> None:  # type: ignore[no-untyped-def]
    model, X = trained
    rows = X.head(3)
    r = httpx.post(f"{server.url}/v2/models/churn/explain", json=_v2(rows, id="req-1"))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["model_name"] == "churn" and doc["model_version"] == "1" and doc["id"] == "req-1"
    facts = doc["parameters"]
    assert facts["method"] == "tree" and facts["exact"] and facts["output_space"] == "margin"
    assert facts["feature_names"] == list(X.columns) and facts["additivity_error"] < 1e-9
    out = {o["name"]: o for o in doc["outputs"]}
    assert out["attributions"]["shape"] == [3, 20] and out["attributions"]["datatype"] == "FP64"
    values = np.asarray(out["attributions"]["data"]).reshape(3, 20)
    base, output = np.asarray(out["base_values"]["data"]), np.asarray(out["output"]["data"])
    assert np.allclose(base + values.sum(axis=1), output, atol=1e-9)
    assert np.allclose(values, explain(None, model, rows).values, atol=1e-9)
    versioned = httpx.post(f"{server.url}/v2/models/churn/versions/1/explain", json=_v2(rows))
    assert versioned.status_code == 200
    # a sampling method measures against the version's reference sample
    perm = httpx.post(
        f"{server.url}/v2/models/churn/explain",
        json=_v2(rows.head(1), parameters={"method": "permutation"}),
    )
    assert perm.status_code == 200, perm.text
    assert perm.json()["parameters"]["background_rows"] == 100


def test_mlflow_explain_and_concurrent_requests_are_split_right(server, trained) -> None:  # type: ignore[no-untyped-def]
    model, X = trained
    expected = explain(None, model, X.head(16)).values

    def one(i: int) -> np.ndarray:
        body = {"dataframe_split": X.iloc[[i]].to_dict(orient="split", index=False)}
        r = httpx.post(f"{server.url}/explain", json=body, timeout=30)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["method"] == "tree" and doc["model_version"] == "1"
        return np.asarray(doc["values"])

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(one, range(16)))
    for i, values in enumerate(got):
        assert np.allclose(values, expected[i], atol=1e-9), i  # each request gets its own row


def test_a_logged_prediction_is_explained_by_request_id(server, trained) -> None:  # type: ignore[no-untyped-def]
    model, X = trained
    rows = X.iloc[10:13]
    r = httpx.post(
        f"{server.url}/invocations",
        json={"instances": rows.to_numpy().tolist()},
        headers={"x-request-id": "logged-42"},
    )
    assert r.status_code == 200
    e = httpx.get(f"{server.url}/v1/explanations/logged-42", timeout=30)
    assert e.status_code == 200, e.text
    doc = e.json()
    assert doc["request_id"] == "logged-42" and doc["model_version"] == "1"
    assert doc["prediction"] == r.json()["predictions"]
    assert np.allclose(doc["data"]["data"], rows.to_numpy())
    assert np.allclose(doc["values"], explain(None, model, rows).values, atol=1e-9)
    missing = httpx.get(f"{server.url}/v1/explanations/never-served")
    assert missing.status_code == 404 and "x-request-id" in missing.json()["error"]


def test_bad_input_is_a_4xx_as_predict_gives(server, trained) -> None:  # type: ignore[no-untyped-def]
    _, X = trained
    url = f"{server.url}/v2/models/churn/explain"
    wrong_width = httpx.post(url, json=_v2(X.iloc[:2, :5]))
    infer_width = httpx.post(f"{server.url}/v2/models/churn/infer", json=_v2(X.iloc[:2, :5]))
    assert wrong_width.status_code == infer_width.status_code
    assert 400 <= wrong_width.status_code < 500
    assert wrong_width.json()["error"] == infer_width.json()["error"]
    method = httpx.post(url, json=_v2(X.head(1), parameters={"method": "shapley"}))
    assert method.status_code == 422 and "Valid methods are" in method.json()["error"]
    records = httpx.post(
        f"{server.url}/explain", json={"dataframe_records": [{"f0": 1.0, "nope": 2.0}]}
    )
    assert records.status_code == 422 and "f1" in records.json()["error"]
    unknown = httpx.post(f"{server.url}/v2/models/other/explain", json=_v2(X.head(1)))
    assert unknown.status_code == 404 and "churn" in unknown.json()["error"]
    garbage = httpx.post(url, content=b"{not json")
    assert garbage.status_code == 400
