"""A third-party flavor, end to end, without a line of it in Mainsail.

``tests/thirdparty/acme_flavors.py`` (numpy coefficients, saved as ``.npy`` without pickle)
is registered, logged with ``register_model`` from a run, loaded back, served by the real
inference server (a child process that finds the flavor through the package's entry point)
over the V2 and MLflow protocols, and put through release checks, including the smoke check
that serves it once more.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import mainsail

from .conftest import ACME


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(ctx: Any, acme: ModuleType) -> Iterator[Any]:
    """``serve(address)`` starts ``mainsail serve`` on this test's store; stopped after."""
    procs: list[subprocess.Popen[bytes]] = []

    def serve(address: str) -> str:
        port = _free_port()
        env = {**os.environ, "MAINSAIL_HOME": str(ctx.home)}
        cmd = [sys.executable, "-m", "mainsail", "serve", address, "--port", str(port), "--no-log"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                raise AssertionError(f"mainsail serve exited ({proc.returncode}): {out[-2000:]}")
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("mainsail serve was not ready within 120 s")

    yield serve
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()


def _data(n: int = 400) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    y = 1.5 * X["a"] - 2.0 * X["b"] + 0.5 + rng.normal(scale=0.05, size=n)
    return X, y.to_numpy()


def test_a_third_party_flavor_registers_serves_and_passes_checks(
    ctx: Any, acme: ModuleType, served: Any
) -> None:
    X, y = _data()
    model = acme.LinearCoefficients.fit(X, y)
    with mainsail.start_run(experiment="acme") as run:
        mv = mainsail.register_model(model, name="acme-lin", run=run, reference=X)
    assert mv.flavor == ACME and mv.task == "regression" and mv.run_id == run.id
    assert {"coef.npy", "mainsail-model.json"} <= set(mv.files)
    assert mv.allow_pickle is False
    loaded = mainsail.load_model("models:/acme-lin/1")
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))

    url = served("models:/acme-lin/1")
    rows = X.head(5)
    expected = model.predict(rows)
    split = {"dataframe_split": {"columns": list(rows.columns), "data": rows.values.tolist()}}
    got = httpx.post(f"{url}/invocations", json=split, timeout=30)
    assert got.status_code == 200, got.text
    np.testing.assert_allclose(got.json()["predictions"], expected)
    inputs = [{"name": c, "shape": [5], "datatype": "FP64", "data": rows[c].tolist()} for c in rows]
    v2 = httpx.post(f"{url}/v2/models/acme-lin/infer", json={"inputs": inputs}, timeout=30)
    assert v2.status_code == 200, v2.text
    np.testing.assert_allclose(v2.json()["outputs"][0]["data"], expected)
    bad = httpx.post(f"{url}/invocations", json={"dataframe_records": [{"a": 1.0}]}, timeout=30)
    assert bad.status_code == 422 and "Missing input column 'b'" in bad.text

    mainsail.log_dataset(X.assign(y=y), name="acme-holdout")
    result = mainsail.check(
        "models:/acme-lin/1",
        "datasets:/acme-holdout/1",
        policy={"label": "y", "metrics": {"rmse": {"max": 0.2}}, "smoke": {"timeout_s": 120}},
        progress=False,
    )
    outcomes = {c.name: c.status for c in result.checks}
    assert result.verdict == "blessed", result.reason
    assert outcomes["smoke"] == "pass" and outcomes["metrics.rmse"] == "pass"
