"""Packaging: ONNX export with parity checks, Docker, Kubernetes and Lambda artefacts."""

from mainsail.packaging._artefacts import (
    build_docker,
    build_lambda,
    k8s_manifests,
    parse_dockerfile,
    write_k8s,
)
from mainsail.packaging._onnx import ExportResult, ParityError, QuantizationReport, export_onnx

__all__ = [
    "ExportResult",
    "ParityError",
    "QuantizationReport",
    "build_docker",
    "build_lambda",
    "export_onnx",
    "k8s_manifests",
    "parse_dockerfile",
    "write_k8s",
]
