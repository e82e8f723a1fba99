"""``mainsail build docker|k8s|lambda``: deployment artefacts for a model version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mainsail.cli._output import console

build = typer.Typer(help="Write deployment artefacts for a model version.", no_args_is_help=True)
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Folder to write into.")]


def _version(ref: str):  # type: ignore[no-untyped-def]
    from mainsail.client import get_model_version

    return get_model_version(ref if ref.startswith("models:/") else f"models:/{ref}")


@build.command("docker")
def build_docker(address: str, out: OutOpt = Path("build/docker")) -> None:
    """A Docker build context: Dockerfile, pinned requirements, entrypoint, model folder."""
    from mainsail.client import get_context
    from mainsail.packaging import build_docker as _build

    v = _version(address)
    paths = _build(get_context(), v, out)
    console.print(f"Wrote a Docker build context for {v.address} in {out}:")
    for p in paths:
        console.print(f"  {p}")
    console.print(f"Build it with: docker build -t {v.name}:{v.version} {out}")


@build.command("k8s")
def build_k8s(
    address: str,
    out: OutOpt = Path("build/k8s"),
    image: Annotated[
        str | None, typer.Option(help="Container image (default NAME:VERSION).")
    ] = None,
    replicas: int = 2,
    min_replicas: Annotated[int, typer.Option("--min")] = 2,
    max_replicas: Annotated[int, typer.Option("--max")] = 10,
    cpu: str = "500m",
    memory: str = "1Gi",
) -> None:
    """Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget (one YAML file)."""
    from mainsail.packaging import k8s_manifests, write_k8s

    v = _version(address)
    docs = k8s_manifests(
        v, image or f"{v.name}:{v.version}", replicas, min_replicas, max_replicas, cpu, memory
    )
    path = write_k8s(docs, out)
    console.print(f"Wrote {', '.join(d['kind'] for d in docs)} to {path}")


@build.command("lambda")
def build_lambda(address: str, out: OutOpt = Path("build/lambda")) -> None:
    """An AWS Lambda bundle (Mangum handler: handler.handler)."""
    from mainsail.client import get_context
    from mainsail.packaging import build_lambda as _build

    v = _version(address)
    paths = _build(get_context(), v, out)
    console.print(
        f"Wrote a Lambda bundle for {v.address} in {out}: " + ", ".join(p.name for p in paths)
    )
