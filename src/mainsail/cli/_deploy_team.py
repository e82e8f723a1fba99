"""``mainsail build helm|compose``: the deployment for a team (chart or one-VM Compose)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mainsail.cli._output import console

ValuesOpt = Annotated[
    Path | None,
    typer.Option("--values", "-f", help="A values YAML file to start from (chart keys)."),
]
EndpointOpt = Annotated[
    list[str] | None,
    typer.Option("--endpoint", "-e", help="Add a data plane for this endpoint (repeatable)."),
]
CapacityOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--capacity",
        help="NAME=RPS: measured requests/s one replica of endpoint NAME serves; its "
        "autoscaler then targets a share of it (repeatable).",
    ),
]
FromStoreOpt = Annotated[
    bool,
    typer.Option("--from-store", help="Add a data plane for every endpoint in the store."),
]
ImageOpt = Annotated[str | None, typer.Option(help="Container image, REPOSITORY:TAG.")]
ReplicasOpt = Annotated[
    int | None, typer.Option("--server-replicas", help="Control-plane replicas.")
]
RootOpt = Annotated[
    str | None, typer.Option("--artifact-root", help="Artifact store URL (s3://bucket/prefix).")
]
S3Opt = Annotated[
    str | None, typer.Option("--s3-endpoint-url", help="S3-compatible endpoint (MinIO, ...).")
]


def values_from_options(
    values: Path | None,
    endpoint: list[str] | None,
    capacity: list[str] | None,
    from_store: bool,
    image: str | None,
    server_replicas: int | None,
    artifact_root: str | None,
    s3_endpoint_url: str | None,
) -> Any:
    """Merge a values file and the options into validated values (clear errors on both)."""
    from mainsail.core._errors import InvalidValueError
    from mainsail.packaging._team import team_values

    doc: dict[str, Any] = {}
    if values is not None:
        import yaml

        if not values.is_file():
            raise InvalidValueError(
                f"Expected a values YAML file at '{values}'. It does not exist."
            )
        try:
            doc = yaml.safe_load(values.read_text()) or {}
        except yaml.YAMLError as exc:
            raise InvalidValueError(f"'{values}' is not valid YAML: {exc}") from exc
        if not isinstance(doc, dict):
            raise InvalidValueError(
                f"Expected a mapping at the top of '{values}'. Found {type(doc).__name__}."
            )
    endpoints: list[dict[str, Any]] = list(doc.get("endpoints") or [])
    names = [str(e.get("name")) for e in endpoints if isinstance(e, dict)]
    wanted = list(endpoint or [])
    if from_store:
        from mainsail.client._delivery import list_endpoints

        wanted += [e.name for e in list_endpoints()]
    for name in wanted:
        if name not in names:
            endpoints.append({"name": name})
            names.append(name)
    for item in capacity or []:
        name, sep, rps = item.partition("=")
        try:
            rate = float(rps)
        except ValueError:
            rate = -1.0
        if not sep or rate <= 0:
            raise InvalidValueError(
                f"Expected --capacity NAME=RPS with a positive number, e.g. churn=400. Got {item!r}."
            )
        if name not in names:
            raise InvalidValueError(
                f"--capacity names endpoint {name!r}, which is not deployed here. "
                f"Endpoints: {', '.join(names) or 'none (add one with --endpoint)'}."
            )
        for e in endpoints:
            if e.get("name") == name:
                e["capacity"] = {**(e.get("capacity") or {}), "requestsPerSecond": rate}
    doc["endpoints"] = endpoints
    if image:
        repo, sep, tag = image.rpartition(":")
        if not sep or "/" in tag:
            repo, tag = image, "latest"
        doc["image"] = {**(doc.get("image") or {}), "repository": repo, "tag": tag}
    if server_replicas is not None:
        doc["controlPlane"] = {**(doc.get("controlPlane") or {}), "replicas": server_replicas}
    storage = dict(doc.get("storage") or {})
    if artifact_root:
        storage["artifactRoot"] = artifact_root
    if s3_endpoint_url:
        storage["s3EndpointUrl"] = s3_endpoint_url
    doc["storage"] = storage
    return team_values(doc)


def build_helm(
    out: Annotated[Path, typer.Option("--out", "-o", help="The chart folder to write.")] = Path(
        "deploy/helm/mainsail"
    ),
    values: ValuesOpt = None,
    endpoint: EndpointOpt = None,
    capacity: CapacityOpt = None,
    from_store: FromStoreOpt = False,
    image: ImageOpt = None,
    server_replicas: ReplicasOpt = None,
    artifact_root: RootOpt = None,
    s3_endpoint_url: S3Opt = None,
) -> None:
    """A Helm chart: control plane, one data plane per endpoint, workers, migrations."""
    from mainsail.packaging._helm import write_chart

    spec = values_from_options(
        values,
        endpoint,
        capacity,
        from_store,
        image,
        server_replicas,
        artifact_root,
        s3_endpoint_url,
    )
    paths = write_chart(out, spec)
    eps = ", ".join(e.name for e in spec.endpoints) or "none yet (values.yaml: endpoints)"
    console.print(f"Wrote a Helm chart ({len(paths)} files) to {out}; endpoints: {eps}.")
    console.print(f"Install it with: helm install mainsail {out}")


def build_compose(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The folder to write compose.yaml into.")
    ] = Path("deploy/compose"),
    values: ValuesOpt = None,
    endpoint: EndpointOpt = None,
    capacity: CapacityOpt = None,
    from_store: FromStoreOpt = False,
    image: ImageOpt = None,
    server_replicas: ReplicasOpt = None,
    artifact_root: Annotated[
        str,
        typer.Option(
            "--artifact-root",
            help="Artifact store: a folder on the shared volume, or s3://bucket/prefix.",
        ),
    ] = "/data/artifacts",
    s3_endpoint_url: S3Opt = None,
) -> None:
    """A Compose file for one VM: PostgreSQL, the same processes as the chart, HAProxy."""
    from mainsail.packaging._compose import write_compose

    spec = values_from_options(
        values,
        endpoint,
        capacity,
        from_store,
        image,
        server_replicas,
        artifact_root,
        s3_endpoint_url,
    )
    paths = write_compose(out, spec)
    console.print(f"Wrote {', '.join(p.name for p in paths)} to {out}.")
    console.print(f"Copy {out}/.env.example to {out}/.env, fill it in, then: docker compose up -d")


def register(build: typer.Typer) -> None:
    """Add ``helm`` and ``compose`` to the ``mainsail build`` group."""
    build.command("helm")(build_helm)
    build.command("compose")(build_compose)
