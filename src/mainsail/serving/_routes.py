"""The data plane's routes: Open Inference Protocol V2, MLflow ``/invocations``, feedback,
health and metrics, as methods of :class:`Handlers` over a plane; and the app's lifespan.

The handlers do not know which plane they serve: the plane picks the variant, re-routes by
an input field, sends shadow copies and keeps what is served up to date.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mainsail.core._errors import ConflictError, MainsailError
from mainsail.core._version import VERSION
from mainsail.serving._explain import ExplainHandlers
from mainsail.serving._http import JSON
from mainsail.serving._http import json_response as _json
from mainsail.serving._model import ServedModel
from mainsail.serving._payloads import (
    PayloadError,
    loads,
    parse_invocations,
    parse_v2,
    v2_datatype,
)
from mainsail.serving._plane import DataPlane
from mainsail.serving._refusals import classify

_JSON = JSON


def _request_id(request: Request, body_id: str | None = None) -> str:
    return body_id or request.headers.get("x-request-id") or uuid.uuid4().hex


def _error(
    plane: DataPlane,
    exc: Exception,
    labels: tuple[str, str, str],
    protocol: str,
    rid: str,
    names: list[str],
) -> Response:
    if isinstance(exc, MainsailError):
        status = exc.status
        reason = type(exc).__name__
        body: dict[str, Any] = {"error": exc.message}
    else:  # pragma: no cover - a bug; still never leaks a traceback
        status, reason, body = 500, "internal", {"error": f"Internal error: {type(exc).__name__}"}
    plane.metrics.errors.labels(*labels, reason).inc()
    plane.metrics.requests.labels(*labels, protocol, str(status)).inc()
    if status >= 500 and plane.sketches is not None:
        # Server-side failures count in the monitor's error rate (4xx are the client's).
        plane.sketches.record_error(labels[1])
    elif isinstance(exc, MainsailError) and plane.sketches is not None:
        # Schema/type refusals count per reason and feature: data quality shows them.
        plane.sketches.record_refusal(labels[1], classify(exc, names))
    headers = {"x-request-id": rid}
    if status == 503:
        headers["retry-after"] = "1"
    return _json(body, status, headers)


class _Call:
    """The variant a request was routed to (a handler may re-route by an input field)."""

    __slots__ = ("model", "pinned", "predictions")

    def __init__(self, model: ServedModel, pinned: bool) -> None:
        self.model = model
        self.pinned = pinned
        self.predictions: Any = None


async def _serve(plane: DataPlane, request: Request, protocol: str, handler: Any) -> Response:
    rid = request.headers.get("x-request-id") or uuid.uuid4().hex
    started = time.perf_counter()
    body: bytes = b""
    refused: Exception | None = None
    try:
        body = await plane.read_body(request)
    except Exception as exc:  # noqa: BLE001 - rendered below, under the picked model's labels
        refused = exc
    # The model is picked once the body is in: a slow upload must not keep a model that a
    # hot swap retires (and closes) meanwhile. From here to the batcher's queue nothing
    # awaits, so the swap cannot slip in between.
    call = _Call(*plane.pick(request))
    gauge = plane.metrics.in_flight.labels(*call.model.labels)
    gauge.inc()
    try:
        if refused is not None:
            raise refused
        response, rid = await handler(call, rid, body)
    except Exception as exc:  # noqa: BLE001 - rendered as a 4xx/5xx JSON error
        error = _error(plane, exc, call.model.labels, protocol, rid, call.model.checker.names)
        plane.record(call.model, error.status_code, started)
        if plane.routed:
            error.headers["x-mainsail-variant"] = call.model.variant
            error.headers["x-mainsail-model-version"] = call.model.version
        return error
    finally:
        gauge.dec()
    model = call.model
    labels = model.labels
    plane.record(model, 200, started, call.predictions)
    plane.metrics.latency.labels(*labels, "total").observe(time.perf_counter() - started)
    plane.metrics.requests.labels(*labels, protocol, "200").inc()
    response.headers["x-request-id"] = rid
    response.headers["x-mainsail-variant"] = model.variant
    response.headers["x-mainsail-model-version"] = model.version
    return response


def _header_length(request: Request) -> int | None:
    """The binary tensor extension's JSON length, if the request uses it."""
    hdr = request.headers.get("inference-header-content-length")
    if hdr is None:
        return None
    if not hdr.strip().isdigit():
        raise PayloadError(
            f"Inference-Header-Content-Length must be the byte length of the JSON part "
            f"(an integer). Got {hdr!r}.",
            field="inference-header-content-length",
        )
    return int(hdr)


def _observe(plane: DataPlane, model: ServedModel, result: Any) -> None:
    m = plane.metrics
    m.latency.labels(*model.labels, "queue").observe(result.queue_s)
    m.latency.labels(*model.labels, "compute").observe(result.compute_s)
    m.batch_rows.labels(*model.labels).observe(result.batch_rows)


class Handlers:
    """The routes' handlers over one plane."""

    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane

    async def infer(self, request: Request) -> Response:
        plane = self.plane
        name = request.path_params["name"]
        version = request.path_params.get("version")

        async def handle(call: _Call, rid: str, body: bytes) -> tuple[Response, str]:
            model = call.model = plane.check_name(name, version, call.model)
            req = parse_v2(body, _header_length(request), model.checker)
            model = call.model = plane.rekey(model, call.pinned, req.prepared.frame)
            rid = req.id or rid
            wanted = [o.get("name") for o in req.outputs if isinstance(o, dict)] or ["predict"]
            unknown = [w for w in wanted if w not in ("predict", "predict_proba")]
            if unknown:
                raise PayloadError(
                    f"Unknown output(s) {unknown}. Valid outputs: predict, predict_proba."
                )
            result = await model.infer(
                req.prepared.frame, req.prepared.rows, "predict_proba" in wanted, rid
            )
            _observe(plane, model, result)
            call.predictions = result.predictions
            plane.shadow(req.prepared.frame, req.prepared.rows, result.predictions, rid)
            binary = {
                o.get("name")
                for o in req.outputs
                if isinstance(o, dict) and (o.get("parameters") or {}).get("binary_data")
            }
            outputs, tail = [], b""
            for w in wanted:
                arr = result.predictions if w == "predict" else result.probabilities
                if arr is None:
                    raise PayloadError(f"{model.address} has no {w} output.")
                arr = np.asarray(arr)
                dtype = v2_datatype(arr)
                out: dict[str, Any] = {"name": w, "shape": list(arr.shape), "datatype": dtype}
                if w in binary and dtype != "BYTES":
                    raw = np.ascontiguousarray(arr).tobytes()
                    out["parameters"] = {"binary_data_size": len(raw)}
                    tail += raw
                else:
                    out["data"] = (
                        arr.reshape(-1).tolist()
                        if dtype != "BYTES"
                        else [str(x) for x in arr.reshape(-1)]
                    )
                outputs.append(out)
            doc = {
                "model_name": model.endpoint,
                "model_version": model.version,
                "id": rid,
                "parameters": {"variant": model.variant},
                "outputs": outputs,
            }
            head = orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)
            if tail:
                resp = Response(head + tail, media_type="application/octet-stream")
                resp.headers["inference-header-content-length"] = str(len(head))
                return resp, rid
            return Response(head, media_type=_JSON), rid

        return await _serve(plane, request, "v2", handle)

    async def invocations(self, request: Request) -> Response:
        plane = self.plane

        async def handle(call: _Call, rid: str, body: bytes) -> tuple[Response, str]:
            prepared = parse_invocations(
                body, request.headers.get("content-type", ""), call.model.checker
            )
            model = call.model = plane.rekey(call.model, call.pinned, prepared.frame)
            result = await model.infer(prepared.frame, prepared.rows, False, rid)
            _observe(plane, model, result)
            call.predictions = result.predictions
            plane.shadow(prepared.frame, prepared.rows, result.predictions, rid)
            return _json({"predictions": result.predictions}), rid

        return await _serve(plane, request, "mlflow", handle)

    async def feedback(self, request: Request) -> Response:
        plane = self.plane
        try:
            body = await plane.read_body(request)
            data = loads(body)
            records = data.get("records", data) if isinstance(data, dict) else data
            if isinstance(records, dict):
                records = [records]
            if (
                not isinstance(records, list)
                or not records
                or not all(
                    isinstance(r, dict) and isinstance(r.get("request_id"), str) and "label" in r
                    for r in records
                )
            ):
                raise PayloadError(
                    'Expected feedback as a list of {"request_id": str, "label": value} '
                    'objects (or {"records": [...]}), each naming the request id a prediction '
                    "returned in x-request-id."
                )
            if plane.feedback is None:
                raise ConflictError(
                    f"Feedback for {len(records)} request(s) was not stored: this server runs "
                    "with --no-log (MAINSAIL_SERVE_LOG_PREDICTIONS=false), so it keeps neither "
                    "predictions nor labels. Send feedback to a server that logs predictions, "
                    "or restart this one without --no-log."
                )
            import pandas as pd

            now = int(time.time() * 1000)
            plane.feedback.append(
                pd.DataFrame(index=range(len(records))),
                None,
                request_id=np.array([r["request_id"] for r in records], dtype=object),
                label=np.array([orjson.dumps(r["label"]).decode() for r in records], dtype=object),
                ts=np.full(len(records), now, dtype="int64"),
                endpoint=plane.model.endpoint,
            )
            return _json({"accepted": len(records)})
        except MainsailError as exc:
            return _json({"error": exc.message}, exc.status)

    async def model_meta(self, request: Request) -> Response:
        plane = self.plane
        try:
            model = plane.check_name(
                request.path_params["name"], request.path_params.get("version")
            )
        except MainsailError as exc:
            return _json({"error": exc.message}, exc.status)
        return _json(model.metadata())

    async def model_ready(self, request: Request) -> Response:
        plane = self.plane
        try:
            model = plane.check_name(
                request.path_params["name"], request.path_params.get("version")
            )
        except MainsailError as exc:
            return _json({"error": exc.message}, exc.status)
        return _json({"name": model.endpoint, "ready": model.ready}, 200 if model.ready else 503)

    async def live(self, request: Request) -> Response:
        return _json({"live": True})

    async def ready(self, request: Request) -> Response:
        plane = self.plane
        ok = plane.model.ready
        return _json({"ready": ok}, 200 if ok else 503)

    async def server_meta(self, request: Request) -> Response:
        return _json(
            {
                "name": "mainsail",
                "version": VERSION,
                "extensions": ["binary_tensor_data"],
            }
        )

    async def ping(self, request: Request) -> Response:
        plane = self.plane
        return Response(
            "\n" if plane.model.ready else "not ready\n", 200 if plane.model.ready else 503
        )

    async def version(self, request: Request) -> Response:
        return Response(VERSION, media_type="text/plain")

    async def metrics(self, request: Request) -> Response:
        plane = self.plane
        data, ctype = plane.metrics.render()
        return Response(data, media_type=ctype)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        plane = self.plane
        for m in plane.all_models():
            m.batcher.start()
            if not m.ready:
                await asyncio.to_thread(m.warm)
        for w in (plane.predictions, plane.feedback):
            if w is not None:
                w.start()
        if plane.stats is not None:
            plane.stats.start()
        import gc

        gc.collect()
        gc.freeze()
        # Background threads (log encoding, sketches) must not hold the GIL for long
        # stretches while a request waits: hand it over every 0.5 ms instead of 5 ms.
        sys.setswitchinterval(
            0.0005
        )  # the loaded model and libraries never become garbage: keep GC passes short
        watcher = asyncio.get_running_loop().create_task(plane.watch())
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            gc.unfreeze()
            await plane.drain()  # in-flight requests (and shadow copies) finish first
            if plane.stats is not None:
                plane.stats.close()
            for w in (plane.predictions, plane.feedback):
                if w is not None:
                    w.close()  # flush the logs
            if plane.sketches is not None:
                plane.sketches.flush()

    def routes(self) -> list[Route]:
        return [
            Route("/v2/health/live", self.live),
            Route("/v2/health/ready", self.ready),
            Route("/v2", self.server_meta),
            Route("/v2/models/{name}", self.model_meta),
            Route("/v2/models/{name}/ready", self.model_ready),
            Route("/v2/models/{name}/infer", self.infer, methods=["POST"]),
            Route("/v2/models/{name}/versions/{version}", self.model_meta),
            Route("/v2/models/{name}/versions/{version}/ready", self.model_ready),
            Route("/v2/models/{name}/versions/{version}/infer", self.infer, methods=["POST"]),
            Route("/invocations", self.invocations, methods=["POST"]),
            Route("/ping", self.ping),
            Route("/health", self.ping),
            Route("/version", self.version),
            Route("/v1/feedback", self.feedback, methods=["POST"]),
            Route("/metrics", self.metrics),
            *ExplainHandlers(self.plane).routes(),  # /v2/.../explain, /explain, /v1/explanations
        ]


def build_app(plane: DataPlane) -> Starlette:
    """The ASGI app of ``plane``: its routes, and a lifespan that starts and drains it."""
    handlers = Handlers(plane)
    app = Starlette(routes=handlers.routes(), lifespan=handlers.lifespan)
    app.state.plane = plane
    return app


__all__ = ["Handlers", "build_app"]
