"""MLflow's REST API on ``mainsail server``: the MLflow client writes ordinary Mainsail data.

Mounted at ``/api/2.0/mlflow`` and ``/ajax-api/2.0/mlflow`` (tracking and registry) and at
``/api/2.0/mlflow-artifacts`` (proxied artifacts), with the same roles and audit as the
``/api/v1`` routes. Unsupported endpoints answer MLflow's ``ENDPOINT_NOT_FOUND``.
"""

from __future__ import annotations

from fastapi import FastAPI

from mainsail.server.routers.mlflow import (
    artifacts,
    experiments,
    logged_models,
    metrics,
    registry,
    runs,
)
from mainsail.server.routers.mlflow.errors import not_found_route

PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
ARTIFACTS_PREFIX = "/api/2.0/mlflow-artifacts"
TRACKING = [experiments, runs, metrics, logged_models, registry]


def mount(app: FastAPI) -> None:
    """Add the MLflow routes to ``app`` (before any catch-all mount)."""
    for prefix in PREFIXES:
        for module in TRACKING:
            app.include_router(module.router, prefix=prefix, include_in_schema=False)
    app.include_router(artifacts.router, prefix=ARTIFACTS_PREFIX, include_in_schema=False)
    for prefix in (*PREFIXES, ARTIFACTS_PREFIX, "/api/3.0/mlflow", "/ajax-api/3.0/mlflow"):
        app.add_api_route(**not_found_route(prefix))


__all__ = ["PREFIXES", "mount"]
