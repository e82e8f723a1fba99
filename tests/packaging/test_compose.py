"""The one-VM Compose file and its HAProxy config: checked by docker-compose and haproxy."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from mainsail.core import InvalidValueError
from mainsail.packaging._compose import compose_project
from mainsail.packaging._haproxy import Backend, HAProxyConfig

from .conftest import need_tool

CLI = Callable[..., tuple[int, str, str]]
ENV = {"POSTGRES_PASSWORD": "pw", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}


def compose_config(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``docker-compose config``: validates against Compose's schema, interpolates .env."""
    tool = need_tool("docker-compose")
    clean = {k: v for k, v in os.environ.items() if k not in ENV}
    return subprocess.run(
        [tool, "-f", str(folder / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        env={**clean, **env},
        cwd=folder,
        timeout=60,
    )


def haproxy_check(cfg: Path) -> None:
    tool = need_tool("haproxy")
    done = subprocess.run([tool, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_runs_the_same_processes_as_the_chart(tmp_path: Path, cli: CLI) -> None:
    out = tmp_path / "vm"
    code, stdout, err = cli(
        "build", "compose", "-o", str(out), "-e", "churn", "-e", "fraud", "--server-replicas", "2",
    )  # fmt: skip
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [".env.example", "compose.yaml", "haproxy.cfg"]
    assert (out / ".env.example").read_text() == "POSTGRES_PASSWORD=\nMAINSAIL_ENCRYPTION_KEY=\n"
    done = compose_config(out, {"POSTGRES_PASSWORD": "pw"})
    assert done.returncode == 0, done.stderr
    doc = yaml.safe_load(done.stdout)
    services = doc["services"]
    assert sorted(services) == [
        "lb", "migrate", "postgres", "serve-churn", "serve-fraud", "server", "worker-default",
    ]  # fmt: skip
    server = services["server"]
    assert server["deploy"]["replicas"] == 2
    assert server["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["mainsail", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    churn = services["serve-churn"]
    assert churn["command"][:4] == ["mainsail", "serve", "--endpoint", "churn"]
    assert churn["environment"]["MAINSAIL_DATABASE_URL"] == (
        "postgresql+psycopg://mainsail:pw@postgres:5432/mainsail"
    )
    assert churn["environment"]["MAINSAIL_ARTIFACT_ROOT"] == "/data/artifacts"
    assert "/v2/health/ready" in " ".join(churn["healthcheck"]["test"])
    assert churn["stop_grace_period"] == "40s"
    assert any(str(v).startswith("artifacts:/data") for v in churn["volumes"]), churn["volumes"]
    ports = sorted(p["published"] for p in services["lb"]["ports"])
    assert ports == [8080, 8081, 8082]
    haproxy_check(out / "haproxy.cfg")
    cfg = (out / "haproxy.cfg").read_text()
    assert "server-template serve_churn 10 serve-churn:8080 check" in cfg
    assert "option httpchk GET /v2/health/ready" in cfg


def test_compose_refuses_missing_secrets(tmp_path: Path, cli: CLI) -> None:
    out = tmp_path / "vm"
    code, _, err = cli("build", "compose", "-o", str(out), "--artifact-root", "s3://b/p")
    assert code == 0, err
    assert "AWS_SECRET_ACCESS_KEY=" in (out / ".env.example").read_text()
    done = compose_config(out, {"POSTGRES_PASSWORD": "pw"})
    assert done.returncode != 0 and "set AWS_ACCESS_KEY_ID in .env" in done.stderr
    done = compose_config(out, ENV)
    assert done.returncode == 0, done.stderr
    env = yaml.safe_load(done.stdout)["services"]["server"]["environment"]
    assert env["MAINSAIL_ARTIFACT_ROOT"] == "s3://b/p" and env["AWS_SECRET_ACCESS_KEY"] == "b"


def test_compose_refuses_an_unshared_artifact_folder() -> None:
    with pytest.raises(InvalidValueError, match="under /data/"):
        compose_project({"storage": {"artifactRoot": "/srv/artifacts"}})


def test_haproxy_config_with_fixed_servers_passes_haproxy(tmp_path: Path) -> None:
    cfg = HAProxyConfig(
        [
            Backend("cp", 18080, "/readyz", servers=("127.0.0.1:9001", "127.0.0.1:9002")),
            Backend("churn", 18081, "/v2/health/ready", servers=("127.0.0.1:9003",)),
        ],
        stats_socket=str(tmp_path / "admin.sock"),
    ).render()
    path = tmp_path / "h.cfg"
    path.write_text(cfg)
    haproxy_check(path)
    assert "server cp2 127.0.0.1:9002 check" in cfg
    assert "retry-on conn-failure empty-response response-timeout" in cfg


def test_haproxy_config_errors() -> None:
    with pytest.raises(InvalidValueError, match="at least one backend"):
        HAProxyConfig([]).render()
    with pytest.raises(InvalidValueError, match="unique backend names"):
        HAProxyConfig([Backend("a", 1, "/", servers=("h:1",))] * 2).render()
    with pytest.raises(InvalidValueError, match="has no servers"):
        HAProxyConfig([Backend("a", 1, "/")]).render()
