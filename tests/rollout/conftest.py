"""Fixtures for delivery tests: models to roll out, an endpoint server process, bounded load."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pandas as pd
import pytest

import mainsail

FEATURES = [f"f{i}" for i in range(20)]
# Short windows and polls so a rollout step of ~1 s sees its own traffic.
FAST = {
    "MAINSAIL_SERVE_ENDPOINT_POLL_S": "0.2",
    "MAINSAIL_SERVE_STATS_WINDOW_S": "1",
    "MAINSAIL_SERVE_STATS_FLUSH_S": "0.3",
    "MAINSAIL_SERVE_LOG_FLUSH_INTERVAL": "0.5",
}


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, 20)), columns=FEATURES)


def python_model(kind: str, delay_s: float = 0.0, constant: int | None = None) -> Any:
    """A PythonModel made inside a function, so cloudpickle stores it by value."""

    class Rule(mainsail.PythonModel):
        def predict(self, context: Any, model_input: pd.DataFrame) -> Any:
            if delay_s:
                time.sleep(delay_s)
            if kind == "erroring" and (model_input["f0"] > 0.3).any():
                raise ValueError("this canary cannot handle f0 > 0.3")
            if kind == "shadow-erroring" and (model_input["f2"] > 1.0).any():
                raise ValueError("the shadow fails on f2 > 1")
            if constant is not None:
                return np.full(len(model_input), constant)
            return (model_input["f0"] + model_input["f1"] > 0).astype(int).to_numpy()

    return Rule()


def register(model: Any, X: pd.DataFrame) -> int:
    pickle = isinstance(model, mainsail.PythonModel)
    # an example the failing test models can predict on (registration predicts on it)
    example = X[(X["f0"] <= 0.3) & (X["f2"] <= 1.0)].head()
    mv = mainsail.register_model(
        model, name="churn", input_example=example, reference=X, allow_pickle=pickle
    )
    return int(mv.version)


@pytest.fixture
def stable(ctx) -> tuple[Any, pd.DataFrame]:  # type: ignore[no-untyped-def]
    """churn v1 (a fitted HistGradientBoosting) deployed directly to endpoint churn."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    X = make_frame(500)
    y = (X["f0"] + X["f1"] > 0).astype(int)
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)
    register(model, X)
    mainsail.deploy("churn", "models:/churn/1")
    return model, X


@pytest.fixture
def two_versions(ctx) -> None:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    X = make_frame(200)
    model = LogisticRegression().fit(X, (X["f0"] > 0).astype(int))
    for _ in range(3):
        mainsail.register_model(model, name="churn", input_example=X.head())
    mainsail.deploy("churn", "models:/churn/1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``python -m mainsail <args> --port N`` until /v2/health/ready answers 200."""

    def __init__(self, home: Path, args: list[str], env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output: str | None = None
        full_env = {**os.environ, "MAINSAIL_HOME": str(home), **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mainsail", *args, "--port", str(self.port)],
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.read()}")
            try:
                if httpx.get(f"{self.url}/v2/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not become ready")

    def read(self) -> str:
        return self.proc.stdout.read() if self.proc.stdout else ""

    def stop(self, sig: int = signal.SIGTERM) -> str:
        if self.output is not None:
            return self.output
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.output = self.read()
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.output


@pytest.fixture
def endpoint_server(home: Path) -> Iterator[Any]:
    started: list[ServerProcess] = []

    def start(name: str = "churn", env: dict[str, str] | None = None) -> ServerProcess:
        s = ServerProcess(home, ["serve", "--endpoint", name], {**FAST, **(env or {})})
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def controller(ctx) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from mainsail.controllers import ControllerManager

    manager = ControllerManager(ctx, names=["rollouts"], poll_s=0.1).start()
    yield manager
    manager.stop()


@dataclass
class Reply:
    status: int
    variant: str
    version: str
    predictions: Any
    row: int
    key: str | None


@dataclass
class Load:
    """A few client threads sending one-row requests (bounded rate) until stopped."""

    port: int
    X: pd.DataFrame
    threads: int = 3
    pause_s: float = 0.01
    headers: dict[str, str] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._workers = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(self.threads)
        ]

    def __enter__(self) -> Load:
        for w in self._workers:
            w.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for w in self._workers:
            w.join(timeout=30)

    def _run(self, worker: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        i = worker
        rows = self.X.to_numpy().tolist()
        while not self._stop.is_set():
            row = i % len(rows)
            i += self.threads
            try:
                send(conn, rows[row], self.headers, self.replies, row)
            except Exception as exc:  # noqa: BLE001 - a lost request is a failure
                self.failures.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            time.sleep(self.pause_s)
        conn.close()

    def count(self, variant: str) -> int:
        return sum(1 for r in list(self.replies) if r.variant == variant)


def send(
    conn: http.client.HTTPConnection,
    row: list[float],
    headers: dict[str, str],
    out: list[Reply],
    index: int = 0,
) -> Reply:
    body = orjson.dumps({"instances": [row]})
    conn.request("POST", "/invocations", body, {"content-type": "application/json", **headers})
    resp = conn.getresponse()
    data = orjson.loads(resp.read())
    reply = Reply(
        resp.status,
        resp.getheader("x-mainsail-variant") or "",
        resp.getheader("x-mainsail-model-version") or "",
        data.get("predictions"),
        index,
        headers.get("x-mainsail-key"),
    )
    out.append(reply)
    return reply


def wait_for(predicate: Any, timeout: float = 40.0, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s")


def wait_state(endpoint: str, states: tuple[str, ...], timeout: float = 40.0) -> Any:
    def done() -> Any:
        r = mainsail.get_rollout(endpoint)
        return r if r is not None and r.state in states else None

    try:
        return wait_for(done, timeout)
    except AssertionError:
        raise AssertionError(f"rollout stayed {mainsail.get_rollout(endpoint)}") from None
