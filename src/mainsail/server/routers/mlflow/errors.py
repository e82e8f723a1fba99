"""MLflow's error shape: ``{"error_code": "...", "message": "..."}`` with MLflow's statuses.

The MLflow client reads ``error_code`` to decide what happened (``RESOURCE_DOES_NOT_EXIST``
makes ``get_experiment_by_name`` return ``None``, ``RESOURCE_ALREADY_EXISTS`` makes
``register_model`` reuse a model). Every MLflow route uses :class:`MlflowRoute`, which renders
Mainsail's errors (raised by the domain or by the auth dependencies) in that shape, and
answers a 5xx only for real server faults: the client retries 5xx for minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import sqlalchemy as sa
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from mainsail.core._errors import MainsailError

log = logging.getLogger("mainsail.server")

_CODES = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    409: "RESOURCE_ALREADY_EXISTS",
    413: "INVALID_PARAMETER_VALUE",
    422: "INVALID_PARAMETER_VALUE",
}
_STATUS = {  # MLflow's own status for each code
    "INVALID_PARAMETER_VALUE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "RESOURCE_ALREADY_EXISTS": 400,
    "INTERNAL_ERROR": 500,
}


class MlflowError(MainsailError):
    """An error with an explicit MLflow ``error_code``."""

    headline = "MLflow API error"

    def __init__(self, message: str, error_code: str = "INVALID_PARAMETER_VALUE") -> None:
        super().__init__(message)
        self.error_code = error_code
        self.status = _STATUS.get(error_code, 400)


def mlflow_error(code: str, message: str) -> JSONResponse:
    return JSONResponse({"error_code": code, "message": message}, status_code=_STATUS[code])


def render(exc: Exception) -> JSONResponse:
    """The MLflow-shaped response for ``exc``."""
    if isinstance(exc, MlflowError):
        return mlflow_error(exc.error_code, exc.message)
    if isinstance(exc, MainsailError):
        code = _CODES.get(exc.status, "INTERNAL_ERROR")
        if exc.status == 409 and "already" not in exc.message.lower():
            code = "INVALID_PARAMETER_VALUE"  # a closed run or a state conflict, not a duplicate
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(
            {"error_code": code, "message": exc.message},
            status_code=_STATUS[code] if code != "INTERNAL_ERROR" else exc.status,
            headers=headers,
        )
    if isinstance(exc, RequestValidationError):
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
            for e in exc.errors()[:20]
        ]
        return mlflow_error(
            "INVALID_PARAMETER_VALUE",
            "The request does not match MLflow's REST API: " + "; ".join(problems) + ".",
        )
    if isinstance(exc, sa.exc.IntegrityError):
        return mlflow_error(
            "RESOURCE_ALREADY_EXISTS",
            "The request conflicts with what is stored (a database constraint refused it).",
        )
    if isinstance(exc, sa.exc.DataError):
        return mlflow_error(
            "INVALID_PARAMETER_VALUE",
            "A value in the request cannot be stored (too long, out of range or NUL bytes).",
        )
    log.error("internal error in the MLflow API: %s", type(exc).__name__, exc_info=exc)
    return mlflow_error(
        "INTERNAL_ERROR",
        "Internal server error (a bug in Mainsail). The server log has the traceback.",
    )


class MlflowRoute(APIRoute):
    """A route whose errors, including those of its dependencies, use MLflow's shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # noqa: BLE001 - every error is rendered for the client
                return render(exc)

        return route


async def endpoint_not_found(request: Request) -> JSONResponse:
    """What an MLflow endpoint Mainsail does not implement answers."""
    return mlflow_error(
        "ENDPOINT_NOT_FOUND",
        f"Mainsail does not implement the MLflow endpoint {request.method} {request.url.path}. "
        "Supported: experiments, runs, metrics, registered models, model versions and "
        "artifacts (see the README, 'Coming from MLflow').",
    )


def not_found_route(path: str) -> dict[str, Any]:
    """Keyword arguments of a catch-all route under ``path`` for unsupported endpoints."""
    return {
        "path": path + "/{rest:path}",
        "endpoint": endpoint_not_found,
        "methods": ["GET", "POST", "PUT", "PATCH", "DELETE"],
        "include_in_schema": False,
    }
