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
    replicas: Annotated[int | None, typer.Option(help="Replicas (default 2).")] = None,
    min_replicas: Annotated[int | None, typer.Option("--min", help="HPA minimum (2).")] = None,
    max_replicas: Annotated[int | None, typer.Option("--max", help="HPA maximum (10).")] = None,
    cpu: Annotated[str | None, typer.Option(help="CPU request (500m).")] = None,
    memory: Annotated[str | None, typer.Option(help="Memory request and limit (1Gi).")] = None,
    traffic: Annotated[
        float | None,
        typer.Option(help="Requests/s to size for, from the stored capacity curve."),
    ] = None,
    p99_ms: Annotated[
        float | None, typer.Option("--p99-ms", help="p99 budget (ms) to size for.")
    ] = None,
    target_utilization: Annotated[
        float, typer.Option(help="HPA target, a share of the CPU request.")
    ] = 0.7,
) -> None:
    """Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget (one YAML file).

    With --traffic and --p99-ms the workers, replicas, requests and HPA target come from the
    capacity curve 'mainsail loadtest' stored on the version; options given still win.
    """
    from mainsail.client import get_context
    from mainsail.core._capacity import Prices, curves_of
    from mainsail.core._errors import InvalidValueError
    from mainsail.packaging import k8s_manifests, recommend, write_k8s

    v = _version(address)
    sized: dict[str, object] = {}
    if (traffic is None) != (p99_ms is None):
        raise InvalidValueError(
            "Sizing needs both --traffic (requests/s) and --p99-ms (the latency budget). "
            f"Got only {'--traffic' if traffic is not None else '--p99-ms'}."
        )
    if traffic is not None and p99_ms is not None:
        rec = recommend(
            v,
            traffic,
            p99_ms,
            Prices.from_settings(get_context().settings),
            target_utilization=target_utilization,
        )
        sized = {
            "replicas": rec.min_replicas,
            "min_replicas": rec.min_replicas,
            "max_replicas": rec.max_replicas,
            "cpu": rec.cpu_request,
            "memory": rec.memory_request,
            "target_cpu": rec.hpa_cpu_target,
            "workers": rec.workers,
        }
        console.print(f"Sized from the stored capacity curve: {rec.summary()}", highlight=False)
        for note in rec.notes:
            console.print(f"  note: {note}", highlight=False)
    elif curves_of(v.card):
        console.print(
            f"{v.address} has a stored capacity curve: add --traffic RPS --p99-ms MS to size "
            "the deployment from it.",
            highlight=False,
        )
    given = {
        "replicas": replicas,
        "min_replicas": min_replicas,
        "max_replicas": max_replicas,
        "cpu": cpu,
        "memory": memory,
    }
    defaults: dict[str, object] = {
        "replicas": 2,
        "min_replicas": 2,
        "max_replicas": 10,
        "cpu": "500m",
        "memory": "1Gi",
    }
    args = {**defaults, **sized, **{k: val for k, val in given.items() if val is not None}}
    docs = k8s_manifests(v, image or f"{v.name}:{v.version}", **args)  # type: ignore[arg-type]
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


# -- monitoring -----------------------------------------------------------------------------
@build.command("grafana")
def build_grafana(
    out: Annotated[Path, typer.Option("--out", "-o", help="Dashboard JSON file.")] = Path(
        "build/grafana/mainsail-monitoring.json"
    ),
    title: str = "Mainsail model monitoring",
) -> None:
    """A Grafana dashboard over the monitoring gauges (import it, pick the Prometheus source)."""
    import orjson

    from mainsail.monitoring import grafana_dashboard

    doc = grafana_dashboard(title)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    console.print(f"Wrote a dashboard with {len(doc['panels'])} panels to {out}")


@build.command("prometheus-rules")
def build_prometheus_rules(
    out: Annotated[Path, typer.Option("--out", "-o", help="Rules YAML file.")] = Path(
        "build/prometheus/mainsail-rules.yaml"
    ),
    drift_for: Annotated[str, typer.Option(help="How long drift must last.")] = "15m",
) -> None:
    """Prometheus alerting rules over the monitoring gauges (rule_files: in prometheus.yml)."""
    from mainsail.core._optional import import_optional
    from mainsail.monitoring import prometheus_rules

    yaml = import_optional("yaml", extra="monitor", package="pyyaml")
    doc = prometheus_rules(drift_for=drift_for)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    console.print(f"Wrote {len(doc['groups'][0]['rules'])} alerting rules to {out}")
