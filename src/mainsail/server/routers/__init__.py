"""One router module per domain; ``ALL`` is what the app includes under ``/api/v1``.

To add a domain: write ``routers/<domain>.py`` with ``router = APIRouter(tags=[...])``,
guard reads with ``reader(project)`` and mutations with ``permit(action, role, project)``,
and append the module to ``ALL``.
"""

from mainsail.server.routers import (
    artifacts,
    automation,
    checks,
    datasets,
    endpoints,
    explanations,
    explore,
    health,
    jobs,
    mlflow,
    models,
    monitoring,
    pipelines,
    security,
    tracking,
)

ALL = [health, tracking, datasets, models, artifacts, security]
ALL += [endpoints, monitoring, checks, automation, pipelines, jobs, explore]
ALL += [explanations]

__all__ = [
    "ALL",
    "artifacts",
    "automation",
    "checks",
    "datasets",
    "endpoints",
    "explanations",
    "explore",
    "health",
    "jobs",
    "mlflow",
    "models",
    "monitoring",
    "pipelines",
    "security",
    "tracking",
]
