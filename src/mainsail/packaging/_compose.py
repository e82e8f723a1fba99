"""``mainsail build compose``: the team deployment on one VM, from the same values as the chart.

Services: ``postgres``; ``migrate`` (``mainsail db upgrade``, which every other Mainsail
service waits for); ``server`` (the control plane, N replicas: the advisory lock elects
the controllers' leader); one ``serve-<endpoint>`` per endpoint; ``worker-<name>`` pools;
and ``lb``, an HAProxy that health-checks the replicas and publishes the control plane on
port 8080 and endpoint *i* on 8081 + *i*. Artifacts and prediction logs live on a shared
volume, or in S3 when ``storage.artifactRoot`` is an ``s3://`` URL. Credentials come from
an ``.env`` file beside the Compose file (an example is written; it is never filled in).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mainsail.core._errors import InvalidValueError
from mainsail.packaging._haproxy import Backend, HAProxyConfig
from mainsail.packaging._team import SERVE_DRAIN_S, TeamValues, team_values

LB_PORT = 8080
VOLUME = "/data"
LOCAL_ARTIFACTS = f"{VOLUME}/artifacts"
_PY_CHECK = (
    "import sys, urllib.request; "
    "sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080{path}', timeout=3).status"
    " == 200 else 1)"
)


def _healthcheck(path: str) -> dict[str, Any]:
    return {
        "test": ["CMD", "python", "-c", _PY_CHECK.format(path=path)],
        "interval": "5s",
        "timeout": "4s",
        "retries": 3,
        "start_period": "60s",
    }


def _env(spec: TeamValues, s3: bool) -> dict[str, str]:
    env = {
        "MAINSAIL_DATABASE_URL": "postgresql+psycopg://mainsail:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}@postgres:5432/mainsail",
        "MAINSAIL_HOME": "/tmp/mainsail",
        "MAINSAIL_ARTIFACT_ROOT": spec.storage.artifact_root,
        "MAINSAIL_ENCRYPTION_KEY": "${MAINSAIL_ENCRYPTION_KEY:-}",
    }
    if s3:
        env["AWS_ACCESS_KEY_ID"] = "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID in .env}"
        env["AWS_SECRET_ACCESS_KEY"] = "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY in .env}"
        env["AWS_DEFAULT_REGION"] = spec.storage.region
        if spec.storage.s3_endpoint_url:
            env["AWS_ENDPOINT_URL"] = spec.storage.s3_endpoint_url
    return env


def _service(
    spec: TeamValues, s3: bool, command: list[str], replicas: int, **more: Any
) -> dict[str, Any]:
    svc: dict[str, Any] = {
        "image": f"{spec.image.repository}:{spec.image.tag}",
        "command": ["mainsail", *command],
        "environment": _env(spec, s3),
        "depends_on": {"migrate": {"condition": "service_completed_successfully"}},
        "restart": "unless-stopped",
        "deploy": {"replicas": replicas},
        **more,
    }
    if not s3:
        svc["volumes"] = [f"artifacts:{VOLUME}"]
    return svc


def compose_project(
    values: dict[str, Any] | TeamValues | None = None,
) -> tuple[dict[str, Any], str]:
    """The Compose document and the HAProxy configuration it mounts."""
    spec = team_values(values)
    s3 = spec.storage.artifact_root.startswith("s3://")
    if not s3 and not spec.storage.artifact_root.startswith(f"{VOLUME}/"):
        raise InvalidValueError(
            "Expected storage.artifactRoot to be an s3:// URL or a folder on the shared volume "
            f"(under {VOLUME}/, e.g. {LOCAL_ARTIFACTS}), which every service mounts. "
            f"Got {spec.storage.artifact_root!r}."
        )
    grace = f"{spec.drain.pre_stop_seconds + SERVE_DRAIN_S + 5}s"
    services: dict[str, Any] = {
        "postgres": {
            "image": "postgres:16",
            "environment": {
                "POSTGRES_USER": "mainsail",
                "POSTGRES_DB": "mainsail",
                "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}",
            },
            "volumes": ["pgdata:/var/lib/postgresql/data"],
            "healthcheck": {
                "test": ["CMD", "pg_isready", "-U", "mainsail"],
                "interval": "2s",
                "timeout": "2s",
                "retries": 30,
            },
            "restart": "unless-stopped",
        },
    }
    migrate = _service(spec, s3, ["db", "upgrade"], 1, restart="no")
    migrate["depends_on"] = {"postgres": {"condition": "service_healthy"}}
    services["migrate"] = migrate
    cp = spec.control_plane
    services["server"] = _service(
        spec,
        s3,
        [
            "server",
            "--host",
            "0.0.0.0",
            "--port",
            "8080",
            "--log-level",
            cp.log_level,
            *cp.extra_args,
        ],
        cp.replicas,
        healthcheck=_healthcheck("/readyz"),
        stop_grace_period=grace,
    )
    backends = [
        Backend(
            "server", LB_PORT, "/readyz", dns_name="server:8080", dns_slots=max(cp.replicas, 1) + 2
        )
    ]
    ports = [f"{LB_PORT}:{LB_PORT}"]
    for i, ep in enumerate(spec.endpoints, start=1):
        name = f"serve-{ep.name}"
        services[name] = _service(
            spec,
            s3,
            [
                "serve",
                "--endpoint",
                ep.name,
                "--host",
                "0.0.0.0",
                "--port",
                "8080",
                "--workers",
                str(ep.workers),
                *ep.extra_args,
            ],
            ep.replicas,
            healthcheck=_healthcheck("/v2/health/ready"),
            stop_grace_period=grace,
        )
        port = LB_PORT + i
        slots = max(ep.replicas, ep.autoscaling.max_replicas if ep.autoscaling.enabled else 0)
        backends.append(
            Backend(
                name.replace("-", "_"),
                port,
                "/v2/health/ready",
                dns_name=f"{name}:8080",
                dns_slots=slots,
            )
        )
        ports.append(f"{port}:{port}")
    for w in spec.workers:
        services[f"worker-{w.name}"] = _service(
            spec,
            s3,
            ["worker", "--queue", w.queue, *w.extra_args],
            w.replicas,
            stop_grace_period="60s",
        )
    services["lb"] = {
        "image": "haproxy:2.6",
        "volumes": ["./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro"],
        "ports": ports,
        "depends_on": ["server"],
        "restart": "unless-stopped",
    }
    volumes: dict[str, Any] = {"pgdata": {}}
    if not s3:
        volumes["artifacts"] = {}
    doc = {"services": services, "volumes": volumes}
    return doc, HAProxyConfig(backends, docker_dns=True).render()


def write_compose(out: Path, values: dict[str, Any] | TeamValues | None = None) -> list[Path]:
    """``compose.yaml``, ``haproxy.cfg`` and ``.env.example`` in ``out``."""
    import yaml

    doc, haproxy = compose_project(values)
    out.mkdir(parents=True, exist_ok=True)
    compose = out / "compose.yaml"
    compose.write_text(
        "# Generated by `mainsail build compose`. Copy .env.example to .env and fill it in,\n"
        "# then: docker compose up -d\n" + yaml.safe_dump(doc, sort_keys=False, width=4096)
    )
    cfg = out / "haproxy.cfg"
    cfg.write_text(haproxy)
    env = out / ".env.example"
    names = ["POSTGRES_PASSWORD", "MAINSAIL_ENCRYPTION_KEY"]
    if team_values(values).storage.artifact_root.startswith("s3://"):
        names += ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    env.write_text("".join(f"{n}=\n" for n in names))
    return [compose, cfg, env]
