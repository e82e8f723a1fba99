"""The Mainsail server: the control-plane REST API under ``/api/v1``, controllers, inference.

``mainsail server`` builds :func:`create_app` over the SQL store (PostgreSQL or SQLite)
and the artifact store (a folder or ``s3://bucket/prefix``), and runs it on uvicorn. The
OpenAPI description is at ``/api/v1/openapi.json``; health at ``/api/v1/health/live`` and
``/api/v1/health/ready`` (also ``/healthz`` and ``/readyz``).

Adding routes (endpoints, rollouts, monitors, pipelines, ...)
-------------------------------------------------------------
One router module per domain in ``mainsail/server/routers/``, appended to
``routers.ALL``. Every read declares ``reader(project)``; every mutating route
(POST/PUT/PATCH/DELETE) declares ``permit(action, role, project)``, which authenticates the
caller, checks the role on the project and writes one audit event per call (allowed,
denied or failed) with actor, action, target, before/after, time, status and client
address. The handler fills ``audit.target``, ``audit.before`` and ``audit.after``::

    from fastapi import APIRouter, Request
    from mainsail.server._auth import Audit, from_path, permit, reader

    router = APIRouter(tags=["endpoints"])

    @router.post("/endpoints/{name}/rollouts", status_code=201)
    def start_rollout(request: Request, name: str, body: RolloutIn,
                      audit: Audit = permit("rollouts.start", "deployer", from_path("name"))):
        audit.target = f"endpoints/{name}"
        audit.after = body.model_dump()
        ...

Project resolvers: ``from_path(param)``, ``from_body(key)``, ``run_project``,
``global_scope`` (server-wide: users, tokens, audit) or ``None`` (a binding on any
project). Roles: viewer < developer < deployer < admin (``mainsail.security``). Raise a
``MainsailError``: the error handler renders it as JSON with its ``status``.
``tests/server/test_permissions.py`` derives the mutating routes from the app, so a new
route needs an example request there (and fails until it is audited).

Controllers and inference
-------------------------
With ``controllers=True`` the lifespan starts ``ControllerManager`` on every registered
controller whose module imports (others are skipped with a log line) and stops it on
shutdown. The data plane mounts at ``/`` after the API routes with
:func:`mount_inference` (e.g. ``mount_inference(app, mainsail.serving._app.create_app(...))``);
with auth on, ``.../infer`` and ``/invocations`` then need a token with the ``predict`` scope.
"""

from mainsail.server._app import API_PREFIX, ServerState, create_app, mount_inference
from mainsail.server._auth import Audit, from_body, from_path, permit, reader, run_project

__all__ = [
    "API_PREFIX",
    "Audit",
    "ServerState",
    "create_app",
    "from_body",
    "from_path",
    "mount_inference",
    "permit",
    "reader",
    "run_project",
]
