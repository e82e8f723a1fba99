"""The data-plane ASGI app: Open Inference Protocol V2, MLflow /invocations, feedback, metrics."""

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

import mainsail
from mainsail.core._errors import MainsailError, NotFoundError
from mainsail.serving._metrics import ServingMetrics
from mainsail.serving._model import ModelSlot, ServedModel
from mainsail.serving._payloads import (
    PayloadError,
    loads,
    parse_invocations,
    parse_v2,
    v2_datatype,
)
from mainsail.serving._predlog import LiveSketches, SegmentWriter
from mainsail.serving._settings import ServeSettings

_JSON = "application/json"


class TooLarge(MainsailError):
    headline = "Payload too large"
    status = 413


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type=_JSON,
        headers=headers,
    )


class DataPlane:
    """State shared by the routes: the served slot, logs, metrics and settings."""

    def __init__(
        self,
        slot: ModelSlot,
        settings: ServeSettings,
        predictions: SegmentWriter | None,
        feedback: SegmentWriter | None,
        sketches: LiveSketches | None = None,
        loader: Any = None,
    ) -> None:
        self.slot = slot
        self.settings = settings
        self.predictions = predictions
        self.feedback = feedback
        self.sketches = sketches
        self.metrics = ServingMetrics()
        self.loader = loader  # callable(address) -> ServedModel, for hot swap
        self._watch: asyncio.Task[None] | None = None

    @property
    def model(self) -> ServedModel:
        return self.slot.current

    async def read_body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise TooLarge(
                f"The request body is {declared} bytes; the limit is {limit}. Send smaller batches."
            )
        body = await request.body()
        if len(body) > limit:
            raise TooLarge(
                f"The request body is {len(body)} bytes; the limit is {limit}. Send smaller batches."
            )
        return body

    def check_name(self, name: str, version: str | None = None) -> ServedModel:
        model = self.model
        if name != model.endpoint:
            raise NotFoundError(f"Unknown model {name!r}. This server serves: {model.endpoint}.")
        if version is not None and version != model.version:
            raise NotFoundError(
                f"Model {name!r} has no version {version!r} here. Served version: {model.version}."
            )
        return model

    async def watch(self) -> None:
        """Re-resolve the served alias and hot-swap when it moves to another version."""
        interval = self.settings.reload_interval_s
        address = self.settings.model
        if self.loader is None or not address or interval <= 0 or "@" not in address:
            return
        while True:
            await asyncio.sleep(interval)
            try:
                mv = await asyncio.to_thread(mainsail.get_model_version, address)
                if str(mv.version) != self.model.version:
                    new = await asyncio.to_thread(self.loader, mv.address)
                    await self.slot.swap(new)
            except Exception:  # noqa: BLE001 - keep serving the current model
                continue


def _request_id(request: Request, body_id: str | None = None) -> str:
    return body_id or request.headers.get("x-request-id") or uuid.uuid4().hex


def _error(
    plane: DataPlane, exc: Exception, labels: tuple[str, str, str], protocol: str, rid: str
) -> Response:
    if isinstance(exc, MainsailError):
        status = exc.status
        reason = type(exc).__name__
        body: dict[str, Any] = {"error": exc.message}
    else:  # pragma: no cover - a bug; still never leaks a traceback
        status, reason, body = 500, "internal", {"error": f"Internal error: {type(exc).__name__}"}
    plane.metrics.errors.labels(*labels, reason).inc()
    plane.metrics.requests.labels(*labels, protocol, str(status)).inc()
    headers = {"x-request-id": rid}
    if status == 503:
        headers["retry-after"] = "1"
    return _json(body, status, headers)


async def _serve(plane: DataPlane, request: Request, protocol: str, handler: Any) -> Response:
    model = plane.model
    labels = model.labels
    rid = request.headers.get("x-request-id") or uuid.uuid4().hex
    started = time.perf_counter()
    gauge = plane.metrics.in_flight.labels(*labels)
    gauge.inc()
    try:
        response, rid = await handler(model, rid)
    except Exception as exc:  # noqa: BLE001 - rendered as a 4xx/5xx JSON error
        return _error(plane, exc, labels, protocol, rid)
    finally:
        gauge.dec()
    plane.metrics.latency.labels(*labels, "total").observe(time.perf_counter() - started)
    plane.metrics.requests.labels(*labels, protocol, "200").inc()
    response.headers["x-request-id"] = rid
    response.headers["x-mainsail-variant"] = model.variant
    response.headers["x-mainsail-model-version"] = model.version
    return response


def _observe(plane: DataPlane, model: ServedModel, result: Any) -> None:
    m = plane.metrics
    m.latency.labels(*model.labels, "queue").observe(result.queue_s)
    m.latency.labels(*model.labels, "compute").observe(result.compute_s)
    m.batch_rows.labels(*model.labels).observe(result.batch_rows)


def build_app(plane: DataPlane) -> Starlette:
    async def infer(request: Request) -> Response:
        name = request.path_params["name"]
        version = request.path_params.get("version")

        async def handle(model: ServedModel, rid: str) -> tuple[Response, str]:
            model = plane.check_name(name, version)
            body = await plane.read_body(request)
            hdr = request.headers.get("inference-header-content-length")
            req = parse_v2(body, int(hdr) if hdr and hdr.isdigit() else None, model.checker)
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
                "outputs": outputs,
            }
            head = orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)
            if tail:
                resp = Response(head + tail, media_type="application/octet-stream")
                resp.headers["inference-header-content-length"] = str(len(head))
                return resp, rid
            return Response(head, media_type=_JSON), rid

        return await _serve(plane, request, "v2", handle)

    async def invocations(request: Request) -> Response:
        async def handle(model: ServedModel, rid: str) -> tuple[Response, str]:
            body = await plane.read_body(request)
            prepared = parse_invocations(
                body, request.headers.get("content-type", ""), model.checker
            )
            result = await model.infer(prepared.frame, prepared.rows, False, rid)
            _observe(plane, model, result)
            return _json({"predictions": result.predictions}), rid

        return await _serve(plane, request, "mlflow", handle)

    async def feedback(request: Request) -> Response:
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
            if plane.feedback is not None:
                import pandas as pd

                now = int(time.time() * 1000)
                plane.feedback.append(
                    pd.DataFrame(index=range(len(records))),
                    None,
                    request_id=np.array([r["request_id"] for r in records], dtype=object),
                    label=np.array(
                        [orjson.dumps(r["label"]).decode() for r in records], dtype=object
                    ),
                    ts=np.full(len(records), now, dtype="int64"),
                    endpoint=plane.model.endpoint,
                )
            return _json({"accepted": len(records)})
        except MainsailError as exc:
            return _json({"error": exc.message}, exc.status)

    async def model_meta(request: Request) -> Response:
        try:
            model = plane.check_name(
                request.path_params["name"], request.path_params.get("version")
            )
        except MainsailError as exc:
            return _json({"error": exc.message}, exc.status)
        return _json(model.metadata())

    async def model_ready(request: Request) -> Response:
        try:
            model = plane.check_name(
                request.path_params["name"], request.path_params.get("version")
            )
        except MainsailError as exc:
            return _json({"error": exc.message}, exc.status)
        return _json({"name": model.endpoint, "ready": model.ready}, 200 if model.ready else 503)

    async def live(request: Request) -> Response:
        return _json({"live": True})

    async def ready(request: Request) -> Response:
        ok = plane.model.ready
        return _json({"ready": ok}, 200 if ok else 503)

    async def server_meta(request: Request) -> Response:
        return _json(
            {
                "name": "mainsail",
                "version": mainsail.__version__,
                "extensions": ["binary_tensor_data"],
            }
        )

    async def ping(request: Request) -> Response:
        return Response(
            "\n" if plane.model.ready else "not ready\n", 200 if plane.model.ready else 503
        )

    async def version(request: Request) -> Response:
        return Response(mainsail.__version__, media_type="text/plain")

    async def metrics(request: Request) -> Response:
        data, ctype = plane.metrics.render()
        return Response(data, media_type=ctype)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        plane.model.batcher.start()
        if not plane.model.ready:
            await asyncio.to_thread(plane.model.warm)
        for w in (plane.predictions, plane.feedback):
            if w is not None:
                w.start()
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
            await plane.model.close()  # drain in-flight requests
            for w in (plane.predictions, plane.feedback):
                if w is not None:
                    w.close()  # flush the logs
            if plane.sketches is not None:
                plane.sketches.flush()

    routes = [
        Route("/v2/health/live", live),
        Route("/v2/health/ready", ready),
        Route("/v2", server_meta),
        Route("/v2/models/{name}", model_meta),
        Route("/v2/models/{name}/ready", model_ready),
        Route("/v2/models/{name}/infer", infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}", model_meta),
        Route("/v2/models/{name}/versions/{version}/ready", model_ready),
        Route("/v2/models/{name}/versions/{version}/infer", infer, methods=["POST"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/ping", ping),
        Route("/health", ping),
        Route("/version", version),
        Route("/v1/feedback", feedback, methods=["POST"]),
        Route("/metrics", metrics),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.plane = plane
    return app


def create_app(settings: ServeSettings | None = None) -> Starlette:
    """Build the data plane from settings (``MAINSAIL_SERVE_*`` and ``MAINSAIL_*``)."""
    from mainsail.client import get_context
    from mainsail.registry._registry import load_model, load_model_dir

    settings = settings or ServeSettings()
    if not settings.model and not settings.model_dir:
        raise MainsailError(
            "Nothing to serve. Give a model address (mainsail serve models:/churn@champion) "
            "or a model folder (--model-dir)."
        )
    predictions = feedback = sketches = None
    endpoint = settings.endpoint

    def make(address: str | None) -> ServedModel:
        loaded = (
            load_model_dir(settings.model_dir)
            if settings.model_dir
            else load_model(get_context(), address)
        )
        return ServedModel(
            loaded,
            endpoint or loaded.version.name,
            log=predictions,
            max_batch_size=settings.max_batch_size,
            max_wait_ms=settings.max_wait_ms,
            max_queue=settings.max_queue,
            timeout_s=settings.timeout_s,
            predict_threads=settings.predict_threads,
        )

    first = make(settings.model)
    endpoint = first.endpoint
    if settings.log_predictions:
        root = get_context().settings.resolved_artifact_root()
        predictions = SegmentWriter(root, "predictions", endpoint, settings.log_flush_interval)
        feedback = SegmentWriter(root, "feedback", endpoint, settings.log_flush_interval)
        from mainsail.data._profile import Profile

        ref = first.loaded.version.reference_profile
        sketches = LiveSketches(root, endpoint, reference=Profile.from_dict(ref) if ref else None)

        def observe(table: Any, s: LiveSketches = sketches) -> None:
            s.observe(table)
            s.flush()

        predictions.listeners.append(observe)
        first.log = predictions
        first.batcher._on_batch = first._on_batch
    plane = DataPlane(ModelSlot(first), settings, predictions, feedback, sketches, loader=make)
    return build_app(plane)
