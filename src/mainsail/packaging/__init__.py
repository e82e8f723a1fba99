"""Packaging: ONNX export with parity checks, Docker, Kubernetes and Lambda artefacts."""

from mainsail.packaging._artefacts import (
    build_docker,
    build_lambda,
    k8s_manifests,
    parse_dockerfile,
    write_k8s,
)
from mainsail.packaging._onnx import ExportResult, ParityError, QuantizationReport, export_onnx
from mainsail.packaging._sizing import Recommendation, recommend, recommend_sizing

__all__ = [
    "ExportResult",
    "ParityError",
    "QuantizationReport",
    "Recommendation",
    "build_docker",
    "build_lambda",
    "export_onnx",
    "k8s_manifests",
    "parse_dockerfile",
    "recommend",
    "recommend_sizing",
    "write_k8s",
]
