"""Render errors as JSON: a MainsailError with its own status, never a stack trace."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from mainsail.core._errors import MainsailError

log = logging.getLogger("mainsail.server")


def error_body(exc: MainsailError) -> dict[str, object]:
    return exc.to_dict()


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MainsailError)
    async def mainsail_error(request: Request, exc: MainsailError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(error_body(exc), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors()[:20]:
            loc = ".".join(str(p) for p in e.get("loc", ()))
            problems.append(f"{loc}: {e.get('msg')}")
        return JSONResponse(
            {
                "error": "The request does not match the API schema: "
                + "; ".join(problems)
                + ". See /api/v1/openapi.json for the expected shape.",
                "type": "InvalidValueError",
                "headline": "Invalid value",
            },
            status_code=422,
        )

    @app.exception_handler(sa.exc.IntegrityError)
    async def integrity_error(request: Request, exc: sa.exc.IntegrityError) -> JSONResponse:
        return JSONResponse(
            {
                "error": "The request refers to something that does not exist or conflicts "
                "with what is stored (a database constraint refused it). Check the ids and "
                "names in the request.",
                "type": "ConflictError",
                "headline": "Conflict",
            },
            status_code=409,
        )

    @app.exception_handler(sa.exc.DataError)
    async def data_error(request: Request, exc: sa.exc.DataError) -> JSONResponse:
        return JSONResponse(
            {
                "error": "A value in the request cannot be stored (too long, out of range or "
                "containing NUL characters). Shorten or fix it.",
                "type": "InvalidValueError",
                "headline": "Invalid value",
            },
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "internal error on %s %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
            exc_info=exc,
        )
        return JSONResponse(
            {
                "error": "Internal server error (a bug in Mainsail). The server log has the "
                "traceback; please report it.",
                "type": "MainsailError",
                "headline": "Internal error",
            },
            status_code=500,
        )
