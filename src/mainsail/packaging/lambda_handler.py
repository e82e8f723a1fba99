"""AWS Lambda entry point: ``handler = Mangum(app)`` over a small ASGI app.

The app loads the model folder named by ``MAINSAIL_MODEL_DIR`` once per container and
answers MLflow-style ``POST /invocations`` and ``GET /ping``. It predicts inline: a
Lambda container serves one event at a time, so there is nothing to batch.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mainsail.core._errors import MainsailError


@lru_cache(maxsize=1)
def _model() -> Any:
    from mainsail.registry._registry import load_model_dir

    folder = os.environ.get("MAINSAIL_MODEL_DIR")
    if not folder:
        raise MainsailError("Set MAINSAIL_MODEL_DIR to the model folder bundled with the function.")
    return load_model_dir(folder)


async def invocations(request: Request) -> Response:
    from mainsail.serving._http import json_response
    from mainsail.serving._payloads import InputChecker, parse_invocations

    try:
        model = _model()
        prepared = parse_invocations(
            await request.body(),
            request.headers.get("content-type", "application/json"),
            InputChecker(model.signature),
        )
        preds = model.runtime.predict(prepared.frame)
        # the data plane's encoder: string labels (an object array) included
        return json_response({"predictions": preds})
    except MainsailError as exc:
        return Response(
            orjson.dumps({"error": exc.message}), exc.status, media_type="application/json"
        )


async def ping(request: Request) -> Response:
    _model()
    return Response("\n")


app = Starlette(routes=[Route("/invocations", invocations, methods=["POST"]), Route("/ping", ping)])


def _make_handler() -> Any:
    from mainsail.core._optional import import_optional

    mangum = import_optional("mangum", extra="package")
    return mangum.Mangum(app, lifespan="off")


handler = _make_handler()
