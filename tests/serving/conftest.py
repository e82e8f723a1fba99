from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import mainsail

FEATURES = [f"f{i}" for i in range(20)]


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, 20)), columns=FEATURES)


@pytest.fixture(scope="session")
def trained() -> tuple[Any, pd.DataFrame]:
    """A fitted model and its frame, shared read-only by every test (fitting is deterministic)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    X = make_frame(1000)
    y = (X["f0"] + X["f1"] > 0).astype(int)
    return HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, y), X


@pytest.fixture(scope="session")
def _registered_home(
    trained: tuple[Any, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A home with churn v1 registered as @champion, built once (registration costs seconds)."""
    model, X = trained
    home = tmp_path_factory.mktemp("serving-registered") / "home"
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("MAINSAIL_")]:
            if key != "MAINSAIL_TEST_PG_URL":
                mp.delenv(key)
        try:
            mainsail.configure(home=str(home))
            mainsail.register_model(model, name="churn", input_example=X.head(), reference=X)
            mainsail.set_alias("churn", "champion", 1)
        finally:
            mainsail.reset()
    return home


@pytest.fixture
def registered(
    _registered_home: Path,
    trained: tuple[Any, pd.DataFrame],
    home: Path,
    request: pytest.FixtureRequest,
) -> tuple[Any, pd.DataFrame]:
    """churn v1 @champion in this test's own home (a copy), and the SDK configured there."""
    if home.exists():
        raise RuntimeError(
            f"registered copies a prepared home into {home}, but it exists already; "
            "request `registered` before `ctx` in the test's arguments."
        )
    shutil.copytree(_registered_home, home)
    request.getfixturevalue("ctx")
    return trained


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    def __init__(self, home: Path, args: list[str], env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output: str | None = None
        full_env = {**os.environ, "MAINSAIL_HOME": str(home), **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mainsail", "serve", *args, "--port", str(self.port)],
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited: {self.proc.stdout.read() if self.proc.stdout else ''}"
                )
            try:
                if httpx.get(f"{self.url}/v2/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not become ready")

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
        self.output = self.proc.stdout.read() if self.proc.stdout else ""
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.output


@pytest.fixture
def server_factory(home: Path) -> Iterator[Any]:
    started: list[ServerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> ServerProcess:
        s = ServerProcess(home, list(args), env)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
