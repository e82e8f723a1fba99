"""One fleet per module: PostgreSQL, S3 (moto's server), two ``mainsail server`` replicas and
three ``mainsail serve --endpoint churn`` replicas behind HAProxy, all real processes on
127.0.0.1, started as an operator would.

The machine is small and shared, so every wait polls for readiness with a finite, generous
deadline, and the figures the tests print are measured on whatever load there is.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mainsail.packaging._haproxy import Backend, HAProxyConfig, Timing
from mainsail.server._process import free_port

from . import _procs as P

ENDPOINT = "churn"
FEATURES = ["f0", "f1", "f2", "f3"]
BUCKET = "fleet"
# Short windows and polls so a rollout step of a few seconds sees its own traffic.
SERVE_ENV = {
    "MAINSAIL_SERVE_ENDPOINT_POLL_S": "0.3",
    "MAINSAIL_SERVE_STATS_WINDOW_S": "1",
    "MAINSAIL_SERVE_STATS_FLUSH_S": "0.5",
    "MAINSAIL_SERVE_LOG_FLUSH_INTERVAL": "1.0",
}
FLUSH_S = float(SERVE_ENV["MAINSAIL_SERVE_LOG_FLUSH_INTERVAL"])
START_S = 120.0  # a process start on the loaded 2-core box (imports, model load from S3)


def frame(n: int, seed: int) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(seed).normal(size=(n, 4)), columns=FEATURES)


@dataclass
class Fleet:
    root: Path
    env: dict[str, str]
    db_url: str
    artifact_root: str
    s3: P.Proc
    servers: list[P.Proc]
    serves: list[P.Proc]
    lb: P.HAProxy
    cp_port: int
    ep_port: int
    token: str
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def cp_url(self) -> str:
        return f"http://127.0.0.1:{self.cp_port}"

    def sdk(self) -> Any:
        """The SDK of a team member: through the load balancer, with the admin's token."""
        import mainsail

        return mainsail.configure(
            tracking_uri=self.cp_url, token=self.token, home=str(self.root / "client")
        )

    def restart_serve(self, i: int) -> None:
        self.serves[i].start().wait_ready("/v2/health/ready", START_S)

    def restart_server(self, i: int) -> None:
        self.servers[i].start().wait_ready("/readyz", START_S)


def _register_models(fleet: Fleet) -> None:
    """v1, v2, v3 of 'churn' (logistic regressions), v1 deployed: a data scientist's steps."""
    from sklearn.linear_model import LogisticRegression

    import mainsail

    fleet.sdk()
    X = frame(400, 0)
    for seed in (1, 2, 3):
        y = (X["f0"] + 0.2 * seed * X["f1"] > 0).astype(int)
        model = LogisticRegression(C=1.0 / seed).fit(X, y)
        mainsail.register_model(model, name=ENDPOINT, input_example=X.head(), reference=X)
    mainsail.deploy(ENDPOINT, f"models:/{ENDPOINT}/1")


@pytest.fixture(scope="module")
def fleet(pg_database: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        if os.environ.get("CI") == "true":
            pytest.fail("haproxy is required in CI (.ci/run installs it) and is not installed")
        pytest.skip("haproxy is not installed (apt-get install -y haproxy)")
    pytest.importorskip("s3fs")
    root = tmp_path_factory.mktemp("fleet")
    logs = root / "logs"
    logs.mkdir()
    db_url, drop_db = pg_database("mainsail_fleet")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MAINSAIL_", "AWS_"))}
    started: list[Any] = []
    try:
        s3 = P.moto(base, logs).start()
        started.append(s3)
        s3.wait_ready("/", START_S)
        import boto3

        boto3.client(
            "s3",
            endpoint_url=s3.url,
            aws_access_key_id="fleet",
            aws_secret_access_key="fleet",
            region_name="us-east-1",
        ).create_bucket(Bucket=BUCKET)
        env = {
            **base,
            "MAINSAIL_DATABASE_URL": db_url,
            "MAINSAIL_ARTIFACT_ROOT": f"s3://{BUCKET}/mainsail",
            "MAINSAIL_HOME": str(root / "operator"),
            "AWS_ACCESS_KEY_ID": "fleet",
            "AWS_SECRET_ACCESS_KEY": "fleet",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": s3.url,
        }
        # The operator's steps: schema first, then the first admin, then the replicas.
        P.cli(env, "db", "upgrade")
        token = P.token_in(P.cli(env, "users", "create", "admin", "--role", "admin"))

        def home(name: str) -> dict[str, str]:
            return {**env, "MAINSAIL_HOME": str(root / name)}

        servers = [P.server(home(f"server{i}"), logs, i) for i in (1, 2)]
        for s in servers:
            started.append(s.start())
        for s in servers:
            s.wait_ready("/readyz", START_S)
        cp_port, ep_port = free_port(), free_port()
        serves = [P.serve({**home(f"serve{i}"), **SERVE_ENV}, logs, ENDPOINT, i) for i in (1, 2, 3)]
        config = HAProxyConfig(
            [
                Backend(
                    "cp", cp_port, "/readyz", servers=tuple(f"127.0.0.1:{s.port}" for s in servers)
                ),
                Backend(
                    ENDPOINT,
                    ep_port,
                    "/v2/health/ready",
                    servers=tuple(f"127.0.0.1:{s.port}" for s in serves),
                ),
            ],
            # A loaded box answers health checks late now and then: 3 misses to go DOWN.
            Timing(check_interval_s=0.5, fall=3, rise=2, server_s=30.0),
            stats_socket=str(root / "haproxy.sock"),
        ).render()
        lb = P.HAProxy(config, root, logs, base)
        started.append(lb.start())
        lb.wait_up("cp", 2, START_S)
        fleet = Fleet(
            root, env, db_url, env["MAINSAIL_ARTIFACT_ROOT"], s3, servers, serves, lb,
            cp_port, ep_port, token,
        )  # fmt: skip
        _register_models(fleet)
        for s in serves:
            started.append(s.start())
        for s in serves:
            s.wait_ready("/v2/health/ready", START_S)
        lb.wait_up(ENDPOINT, 3, START_S)
        yield fleet
    finally:
        import mainsail.client as client

        client.reset()
        for proc in reversed(started):
            try:
                proc.stop()
            except Exception:  # noqa: BLE001 - keep stopping the rest
                pass
        drop_db()


@pytest.fixture
def sdk(fleet: Fleet) -> Iterator[Any]:
    ctx = fleet.sdk()
    yield ctx


FIGURES: list[str] = []


def report(fleet: Fleet, name: str, value: Any, note: str = "") -> None:
    """Keep a figure; the terminal summary prints them all, on success too."""
    fleet.figures[name] = value
    FIGURES.append(f"{name}: {value}" + (f"  ({note})" if note else ""))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        load = os.getloadavg()
        terminalreporter.section("scale figures (shared 2-core machine)")
        terminalreporter.write_line(
            f"load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
        )
        for line in FIGURES:
            terminalreporter.write_line(line)
