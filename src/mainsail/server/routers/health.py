"""Health of the server itself: live (the process answers) and ready (the store answers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mainsail.server.routers._common import Body, context

router = APIRouter(tags=["health"])
root = APIRouter(tags=["health"], include_in_schema=False)


class Health(Body):
    status: str
    schema_revision: str | None = None
    controllers: dict[str, Any] | None = None


@router.get("/health/live", response_model=Health)
def live() -> Any:
    return {"status": "ok"}


@router.get("/health/ready", response_model=Health, responses={503: {"model": Health}})
def ready(request: Request) -> Any:
    try:
        rev = context(request).store.schema_revision()
    except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
        return JSONResponse({"status": f"store unavailable: {type(exc).__name__}"}, 503)
    mgr = request.app.state.mainsail.controllers
    ctl = None
    if mgr is not None:
        ctl = {"leader": mgr.is_leader, "errors": dict(mgr.errors)}
    return {"status": "ok", "schema_revision": rev, "controllers": ctl}


root.add_api_route("/healthz", live, methods=["GET"])
root.add_api_route("/readyz", ready, methods=["GET"])
