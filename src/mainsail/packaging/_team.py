"""What a team deployment is made of: one typed description for the Helm chart and Compose.

``TeamValues`` is the chart's ``values.yaml`` (camelCase keys, as Helm charts spell them)
and, through its JSON schema, the chart's ``values.schema.json``: Helm checks an install's
values against it before it renders anything. The Compose file is built from the same
object, so both deployments describe the same processes:

- ``server``: the control plane (``mainsail server``), N replicas; every replica runs the
  controllers' loop, and a PostgreSQL advisory lock elects the one that acts.
- ``serve-<endpoint>``: one data plane per endpoint (``mainsail serve --endpoint NAME``),
  stateless, scaled by replicas or an autoscaler.
- ``worker-<name>``: job-queue workers (``mainsail worker``).
- ``migrate``: ``mainsail db upgrade``, run before any new replica starts.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from mainsail.core._errors import InvalidValueError

#: Seconds ``mainsail serve`` waits for requests in flight after SIGTERM (uvicorn's
#: ``timeout_graceful_shutdown`` in ``mainsail.serving._server.run``).
SERVE_DRAIN_S = 30
PORT = 8080
_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_NAME = re.compile(_NAME_PATTERN)


def _dns_label(v: str) -> str:
    if not _NAME.match(v):
        raise ValueError(
            "Expected a name usable in Kubernetes object names (lower-case letters, digits "
            f"and '-', starting and ending with a letter or digit). Got {v!r}."
        )
    return v


class _Values(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class Image(_Values):
    """The container image every process runs (it has ``mainsail[server,serve,postgres,s3]``)."""

    repository: str = "mainsail"
    tag: str = "latest"
    pull_policy: str = Field(default="IfNotPresent", pattern="^(Always|IfNotPresent|Never)$")


class ResourceAmounts(_Values):
    cpu: str | None = None
    memory: str | None = None


class Resources(_Values):
    """Kubernetes container resources (``requests`` and ``limits``)."""

    requests: ResourceAmounts = ResourceAmounts(cpu="250m", memory="512Mi")
    limits: ResourceAmounts = ResourceAmounts(memory="1Gi")


class Capacity(_Values):
    """What one replica of an endpoint sustains, when it has been measured.

    ``requestsPerSecond`` is the rate one data-plane replica serves within its latency
    objective (measure it with ``bench/scale.py`` or a load test of your own, against the
    model version you serve). When it is set, the autoscaler scales on requests per second
    per pod (target: this capacity times ``autoscaling.targetUtilizationPercent`` / 100),
    which needs the Prometheus adapter rule in the chart's README; when it is not, on CPU.
    """

    requests_per_second: float | None = Field(default=None, gt=0)


class Autoscaling(_Values):
    enabled: bool = True
    min_replicas: int = Field(default=2, ge=1)
    max_replicas: int = Field(default=10, ge=1)
    target_utilization_percent: int = Field(default=70, ge=1, le=100)


class ControlPlane(_Values):
    """``mainsail server``: the /api/v1 API, health and the controllers (leader only)."""

    replicas: int = Field(default=2, ge=1)
    resources: Resources = Resources()
    min_available: int = Field(default=1, ge=0)
    log_level: str = Field(default="info", pattern="^(debug|info|warning|error)$")
    extra_args: list[str] = Field(
        default_factory=list, description="More 'mainsail server' options."
    )


class EndpointSettings(_Values):
    """How an endpoint's data plane runs (``endpointDefaults``, or one entry of ``endpoints``)."""

    replicas: int = Field(default=2, ge=1)
    workers: int = Field(default=1, ge=1, description="Worker processes per replica.")
    resources: Resources = Resources()
    autoscaling: Autoscaling = Autoscaling()
    capacity: Capacity = Capacity()
    min_available: int = Field(default=1, ge=0)
    extra_args: list[str] = Field(
        default_factory=list, description="More 'mainsail serve' options."
    )

    @model_validator(mode="after")
    def _target(self) -> EndpointSettings:
        rps = self.capacity.requests_per_second
        if rps is not None and rps * self.autoscaling.target_utilization_percent < 100:
            raise ValueError(
                f"capacity.requestsPerSecond x targetUtilizationPercent / 100 must be at least "
                f"1 request/s per pod. Got {rps} x {self.autoscaling.target_utilization_percent}"
                " / 100; raise the capacity or the target, or leave the capacity unset (CPU)."
            )
        return self


class Endpoint(EndpointSettings):
    """One endpoint's data plane: ``mainsail serve --endpoint NAME``."""

    # The pattern is also in the JSON schema (Helm checks it); the validator words the error.
    name: str = Field(min_length=1, max_length=40, json_schema_extra={"pattern": _NAME_PATTERN})

    @field_validator("name")
    @classmethod
    def _dns(cls, v: str) -> str:
        return _dns_label(v)


class WorkerSettings(_Values):
    """How a worker pool runs (``workerDefaults``, or one entry of ``workers``)."""

    queue: str = "default"
    replicas: int = Field(default=1, ge=0)
    extra_args: list[str] = Field(
        default_factory=list,
        description="More 'mainsail worker' options, e.g. ['--kind', 'pipeline'].",
    )
    resources: Resources = Resources()


class Worker(WorkerSettings):
    """A pool of ``mainsail worker`` processes for one queue."""

    name: str = Field(
        default="default", min_length=1, max_length=40, json_schema_extra={"pattern": _NAME_PATTERN}
    )

    @field_validator("name")
    @classmethod
    def _dns(cls, v: str) -> str:
        return _dns_label(v)


class SecretRef(_Values):
    name: str
    key: str


class Secrets(_Values):
    """Where the credentials come from: Kubernetes Secrets the operator creates first."""

    database_url: SecretRef = SecretRef(name="mainsail-database", key="url")
    s3_access_key_id: SecretRef = SecretRef(name="mainsail-s3", key="access-key-id")
    s3_secret_access_key: SecretRef = SecretRef(name="mainsail-s3", key="secret-access-key")
    encryption_key: SecretRef = Field(
        default=SecretRef(name="mainsail-encryption", key="key"),
        description="Optional: without this Secret, artifacts are stored unencrypted.",
    )


class Storage(_Values):
    """Artifacts and prediction logs: an S3 bucket (or any fsspec URL every pod reaches)."""

    artifact_root: str = "s3://mainsail/artifacts"
    s3_endpoint_url: str | None = None
    region: str = "us-east-1"


class Drain(_Values):
    """Graceful termination: the data plane's drain plus a pre-stop pause.

    The pause lets the Service (or load balancer) stop sending new connections before the
    process gets SIGTERM; then ``mainsail serve`` finishes requests in flight for up to
    ``SERVE_DRAIN_S`` seconds and flushes its prediction log.
    """

    pre_stop_seconds: int = Field(default=5, ge=0)


class TeamValues(_Values):
    """The whole deployment: ``values.yaml`` of the chart, and what Compose is built from."""

    image: Image = Image()
    control_plane: ControlPlane = ControlPlane()
    endpoint_defaults: EndpointSettings = Field(
        default=EndpointSettings(),
        description="What every entry of endpoints starts from (Helm does not default list items).",
    )
    endpoints: list[Endpoint] = Field(default_factory=list)
    worker_defaults: WorkerSettings = WorkerSettings()
    workers: list[Worker] = Field(default_factory=lambda: [Worker()])
    storage: Storage = Storage()
    secrets: Secrets = Secrets()
    drain: Drain = Drain()
    migrate_on_upgrade: bool = Field(
        default=True, description="Run 'mainsail db upgrade' as a pre-install/pre-upgrade hook."
    )

    @model_validator(mode="before")
    @classmethod
    def _defaults_under_items(cls, data: Any) -> Any:
        # The chart's templates merge each list item over its defaults; do the same here.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for items, defaults in (("endpoints", "endpointDefaults"), ("workers", "workerDefaults")):
            base = data.get(defaults, data.get(_snake(defaults)))
            listed = data.get(items)
            if isinstance(base, dict) and isinstance(listed, list):
                data[items] = [_merge(base, x) if isinstance(x, dict) else x for x in listed]
        return data

    @field_validator("endpoints", "workers")
    @classmethod
    def _unique(cls, v: list[Any]) -> list[Any]:
        names = [x.name for x in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"Expected unique names. Got duplicates: {', '.join(dupes)}.")
        return v

    def termination_grace_seconds(self) -> int:
        """Pre-stop pause + the server's drain + a margin for the final log flush."""
        return self.drain.pre_stop_seconds + SERVE_DRAIN_S + 5

    def to_values(self) -> dict[str, Any]:
        """The ``values.yaml`` document (camelCase keys, every default spelled out).

        Unset resource amounts are left out rather than written as null: the templates
        copy ``resources`` into the pods as they are.
        """
        doc = self.model_dump(mode="json", by_alias=True)
        doc["endpoints"] = [{"name": e.pop("name"), **e} for e in doc["endpoints"]]
        doc["workers"] = [{"name": w.pop("name"), **w} for w in doc["workers"]]
        parts = [doc["controlPlane"], doc["endpointDefaults"], doc["workerDefaults"]]
        for part in [*parts, *doc["endpoints"], *doc["workers"]]:
            for kind in ("requests", "limits"):
                amounts = part["resources"][kind]
                part["resources"][kind] = {k: v for k, v in amounts.items() if v is not None}
        return doc

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The chart's ``values.schema.json`` (Helm validates install values against it)."""
        schema = cls.model_json_schema(by_alias=True)
        schema["$schema"] = "https://json-schema.org/draft-07/schema#"
        return schema


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def team_values(data: dict[str, Any] | TeamValues | None = None) -> TeamValues:
    """Validate a values document; errors name each wrong key and what it expects.

    Examples
    --------
    >>> team_values({"endpoints": [{"name": "churn", "capacity": {"requestsPerSecond": 400}}]}).endpoints[0].capacity
    Capacity(requests_per_second=400.0)
    """
    if isinstance(data, TeamValues):
        return data
    try:
        return TeamValues.model_validate(data or {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "values"
            msg = err["msg"].removeprefix("Value error, ").rstrip(".")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            problems.append(f"{where}: {msg}")
        raise InvalidValueError(
            "The deployment values are invalid: "
            + "; ".join(problems)
            + ". See 'mainsail build helm --help' and the chart's values.yaml for every key."
        ) from None
