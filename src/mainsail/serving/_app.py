"""The data-plane ASGI app: Open Inference Protocol V2, MLflow /invocations, feedback, metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mainsail.core._errors import MainsailError, NotFoundError
from mainsail.core._version import VERSION
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
from mainsail.serving._router import Route as VariantRoute
from mainsail.serving._router import Router
from mainsail.serving._settings import ServeSettings
from mainsail.serving._variant_stats import VariantStats

if TYPE_CHECKING:
    from mainsail.store._context import Context

_JSON = "application/json"
_MIN_RETIRE_S = 5.0  # a retired variant outlives any request that picked it before the switch
log = logging.getLogger("mainsail.serving")


class TooLarge(MainsailError):
    headline = "Payload too large"
    status = 413


def _numpy_fallback(obj: Any) -> Any:
    # orjson serialises numeric numpy arrays itself; string or object arrays (a classifier
    # trained on string labels predicts those) come here, as do numpy scalars.
    if isinstance(obj, np.ndarray | np.generic):
        return obj.tolist()
    raise TypeError(f"Type is not JSON serializable: {type(obj).__name__}")


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(data, default=_numpy_fallback, option=orjson.OPT_SERIALIZE_NUMPY),
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
        resolve: Any = None,
    ) -> None:
        self.slot = slot
        self.settings = settings
        self.predictions = predictions
        self.feedback = feedback
        self.sketches = sketches
        self.metrics = ServingMetrics()
        self.loader = loader  # callable(address[, variant]) -> ServedModel, for hot swap
        self.resolve = resolve  # callable(address) -> ModelVersion: where an alias points now
        self._watch: asyncio.Task[None] | None = None
        # endpoint mode: the revision's variants behind a router, refreshed from the store
        self.router: Router | None = None
        self.endpoint_name: str | None = None
        self.stats: VariantStats | None = None
        self.loaded: dict[str, ServedModel] = {}
        self.retired: dict[str, tuple[ServedModel, float]] = {}
        self.revision_source: Any = None  # callable(endpoint) -> revision dict | None
        self._shadow_tasks: set[asyncio.Task[None]] = set()
        self._failed_revision: tuple[int, float] | None = None

    @property
    def model(self) -> ServedModel:
        if self.router is not None:
            return self.router.default  # type: ignore[no-any-return]
        return self.slot.current

    def all_models(self) -> list[ServedModel]:
        if self.router is None:
            return [self.slot.current]
        return list(self.loaded.values())

    # -- routing (endpoint mode) -------------------------------------------------------------
    def pick(self, request: Request) -> tuple[ServedModel, bool]:
        """The variant for this request, and whether a header pinned it."""
        router = self.router
        if router is None:
            return self.slot.current, True
        variant = request.headers.get("x-mainsail-variant")
        key = request.headers.get(router.key_header)
        return router.pick(variant, key), variant is not None or key is not None

    def rekey(self, model: ServedModel, pinned: bool, frame: Any) -> ServedModel:
        """Sticky assignment by a named input field (the first row's value)."""
        router = self.router
        if router is None or pinned or router.key_field is None:
            return model
        if router.key_field in frame.columns and len(frame):
            picked: ServedModel = router.pick(key=str(frame[router.key_field].iloc[0]))
            return picked
        return model

    def record(
        self, model: ServedModel, status: int, started: float, predictions: Any = None
    ) -> None:
        if self.stats is not None:
            self.stats.record(
                model.variant,
                model.version,
                status,
                (time.perf_counter() - started) * 1000,
                predictions,
            )

    def shadow(self, frame: Any, rows: int, predictions: Any, rid: str) -> None:
        """Send a copy to the shadow variants; never awaited by the client's request."""
        router = self.router
        if router is None or not router.wants_shadow():
            return
        loop = asyncio.get_running_loop()
        for sm in router.shadows:
            if len(self._shadow_tasks) >= self.settings.shadow_max_in_flight:
                if self.stats is not None:
                    self.stats.record_dropped(sm.variant, sm.version)
                continue
            task = loop.create_task(self._run_shadow(sm, frame, rows, predictions, rid))
            self._shadow_tasks.add(task)
            task.add_done_callback(self._shadow_tasks.discard)

    async def _run_shadow(
        self, sm: ServedModel, frame: Any, rows: int, reference: Any, rid: str
    ) -> None:
        started = time.perf_counter()
        out, error = None, False
        try:
            result = await sm.infer(frame, rows, False, rid)
            out = result.predictions
        except Exception:  # noqa: BLE001 - a failing shadow is recorded, never surfaced
            error = True
        if self.stats is not None:
            self.stats.record_shadow(
                sm.variant,
                sm.version,
                (time.perf_counter() - started) * 1000,
                out,
                reference,
                error,
            )

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

    def check_name(
        self, name: str, version: str | None = None, model: ServedModel | None = None
    ) -> ServedModel:
        model = model or self.model
        if name != model.endpoint:
            raise NotFoundError(f"Unknown model {name!r}. This server serves: {model.endpoint}.")
        if version is not None and version != model.version:
            if self.router is not None:
                for route in self.router.routes:
                    if route.role != "shadow" and route.model.version == version:
                        return route.model  # type: ignore[no-any-return]
            if self.router is None:
                raise NotFoundError(
                    f"Model {name!r} has no version {version!r} here. "
                    f"Served version: {model.version}."
                )
            served = sorted({r.model.version for r in self.router.routes if r.role != "shadow"})
            raise NotFoundError(
                f"Model {name!r} has no version {version!r} here. "
                f"Served versions: {', '.join(served)}."
            )
        return model

    async def watch_endpoint(self) -> None:
        """Poll the endpoint's current revision; load new variants warm, then switch."""
        interval = self.settings.endpoint_poll_s
        if self.router is None or self.revision_source is None or interval <= 0:
            return
        while True:
            await asyncio.sleep(interval)
            await self.reap()
            rev = None
            try:
                rev = await asyncio.to_thread(self.revision_source, self.endpoint_name)
                if rev is None or rev["revision"] == self.router.revision:
                    continue
                failed = self._failed_revision
                if failed and failed[0] == rev["revision"] and time.monotonic() < failed[1]:
                    continue
                await self.apply_revision(rev)
            except Exception:  # noqa: BLE001 - keep serving the current revision
                log.warning("could not apply the endpoint revision; retrying", exc_info=True)
                if rev is not None:
                    self._failed_revision = (rev["revision"], time.monotonic() + 10)

    async def apply_revision(self, rev: dict[str, Any]) -> None:
        """Load (warm) what the revision needs, switch the router atomically, retire the rest."""
        variants = rev["variants"]
        loaded: dict[str, ServedModel] = {}
        for v in variants:
            address = f"models:/{v['model']}/{v['version']}"
            if address in loaded:
                continue
            m = self.loaded.get(address)
            if m is None and address in self.retired:
                m = self.retired.pop(address)[0]
            if m is None:
                fresh: ServedModel = await asyncio.to_thread(self.loader, address, v["name"])
                fresh.batcher.start()
                await asyncio.to_thread(fresh.warm)
                m = fresh
            loaded[address] = m
        self.router = _router(rev, loaded)
        strategy = rev.get("strategy") or {}
        keep = max(float(strategy.get("rollback_window", 0) or 0), _MIN_RETIRE_S)
        for address, m in self.loaded.items():
            if address not in loaded:
                self.retired[address] = (m, time.monotonic() + keep)
        self.loaded = loaded
        self._failed_revision = None

    async def reap(self, force: bool = False) -> None:
        """Unload retired variants whose rollback window has passed (drained first)."""
        now = time.monotonic()
        for address, (m, until) in list(self.retired.items()):
            if force or now >= until:
                self.retired.pop(address, None)
                await m.close()

    async def watch(self) -> None:
        """Re-resolve the served alias and hot-swap when it moves to another version."""
        interval = self.settings.reload_interval_s
        address = self.settings.model
        if self.loader is None or self.resolve is None or not address or interval <= 0:
            return
        if "@" not in address:
            return
        while True:
            await asyncio.sleep(interval)
            try:
                mv = await asyncio.to_thread(self.resolve, address)
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
    if status >= 500 and plane.sketches is not None:
        # Server-side failures count in the monitor's error rate (4xx are the client's).
        plane.sketches.record_error(labels[1])
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
    call = _Call(*plane.pick(request))
    rid = request.headers.get("x-request-id") or uuid.uuid4().hex
    started = time.perf_counter()
    gauge = plane.metrics.in_flight.labels(*call.model.labels)
    gauge.inc()
    try:
        response, rid = await handler(call, rid)
    except Exception as exc:  # noqa: BLE001 - rendered as a 4xx/5xx JSON error
        error = _error(plane, exc, call.model.labels, protocol, rid)
        plane.record(call.model, error.status_code, started)
        if plane.router is not None:
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


def _observe(plane: DataPlane, model: ServedModel, result: Any) -> None:
    m = plane.metrics
    m.latency.labels(*model.labels, "queue").observe(result.queue_s)
    m.latency.labels(*model.labels, "compute").observe(result.compute_s)
    m.batch_rows.labels(*model.labels).observe(result.batch_rows)


def build_app(plane: DataPlane) -> Starlette:
    async def infer(request: Request) -> Response:
        name = request.path_params["name"]
        version = request.path_params.get("version")

        async def handle(call: _Call, rid: str) -> tuple[Response, str]:
            model = call.model = plane.check_name(name, version, call.model)
            body = await plane.read_body(request)
            hdr = request.headers.get("inference-header-content-length")
            req = parse_v2(body, int(hdr) if hdr and hdr.isdigit() else None, model.checker)
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

    async def invocations(request: Request) -> Response:
        async def handle(call: _Call, rid: str) -> tuple[Response, str]:
            body = await plane.read_body(request)
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
                "version": VERSION,
                "extensions": ["binary_tensor_data"],
            }
        )

    async def ping(request: Request) -> Response:
        return Response(
            "\n" if plane.model.ready else "not ready\n", 200 if plane.model.ready else 503
        )

    async def version(request: Request) -> Response:
        return Response(VERSION, media_type="text/plain")

    async def metrics(request: Request) -> Response:
        data, ctype = plane.metrics.render()
        return Response(data, media_type=ctype)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
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
        watcher = asyncio.get_running_loop().create_task(
            plane.watch_endpoint() if plane.router is not None else plane.watch()
        )
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            gc.unfreeze()
            if plane._shadow_tasks:
                await asyncio.wait(list(plane._shadow_tasks), timeout=10)
            for m in plane.all_models():
                await m.close()  # drain in-flight requests
            await plane.reap(force=True)
            if plane.stats is not None:
                plane.stats.close()
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


def _router(rev: dict[str, Any], loaded: dict[str, ServedModel]) -> Router:
    routes = []
    for v in rev["variants"]:
        m = loaded[f"models:/{v['model']}/{v['version']}"]
        m.variant = v["name"]
        routes.append(
            VariantRoute(v["name"], m, float(v.get("weight", 0)), v.get("role", "stable"))
        )
    strategy = rev.get("strategy") or {}
    return Router(
        routes,
        revision=int(rev["revision"]),
        key_header=strategy.get("key_header") or "x-mainsail-key",
        key_field=strategy.get("key_field"),
        shadow_sample=float(strategy.get("sample", 1.0) or 1.0),
    )


def create_endpoint_app(ctx: Context, settings: ServeSettings) -> Starlette:
    """The data plane of one endpoint: its current revision from the store, kept up to date."""
    from mainsail.registry._registry import load_model

    name = settings.endpoint
    assert name is not None
    rev = ctx.database().get_revision(name)
    if rev is None:
        ctx.database().get_endpoint_record(name)  # raises with the list of endpoints
        raise MainsailError(f"Endpoint {name!r} has no revision yet. Deploy a model to it.")
    predictions = feedback = sketches = None
    if settings.log_predictions:
        root = ctx.settings.resolved_artifact_root()
        predictions = SegmentWriter(root, "predictions", name, settings.log_flush_interval)
        feedback = SegmentWriter(root, "feedback", name, settings.log_flush_interval)

    def make(address: str, variant: str = "stable") -> ServedModel:
        return ServedModel(
            load_model(ctx, address),
            name,
            variant=variant,
            log=predictions,
            max_batch_size=settings.max_batch_size,
            max_wait_ms=settings.max_wait_ms,
            max_queue=settings.max_queue,
            timeout_s=settings.timeout_s,
            predict_threads=settings.predict_threads,
        )

    loaded: dict[str, ServedModel] = {}
    for v in rev["variants"]:
        address = f"models:/{v['model']}/{v['version']}"
        if address not in loaded:
            loaded[address] = make(address, v["name"])
    router = _router(rev, loaded)
    if predictions is not None:
        from mainsail.data._profile import Profile

        ref = router.default.loaded.version.reference_profile
        sketches = LiveSketches(
            ctx.settings.resolved_artifact_root(),
            name,
            reference=Profile.from_dict(ref) if ref else None,
        )

        def observe(table: Any, s: LiveSketches = sketches) -> None:
            s.observe(table)
            s.flush()

        predictions.listeners.append(observe)
    plane = DataPlane(
        ModelSlot(router.default), settings, predictions, feedback, sketches, loader=make
    )
    plane.router = router
    plane.loaded = loaded
    plane.endpoint_name = name
    plane.revision_source = ctx.database().get_revision
    plane.stats = VariantStats(
        name,
        ctx.database().write_serving_stats,
        window_s=settings.stats_window_s,
        flush_s=settings.stats_flush_s,
    )
    return build_app(plane)


def create_app(ctx: Context, settings: ServeSettings | None = None) -> Starlette:
    """Build the data plane over ``ctx`` from settings (``MAINSAIL_SERVE_*``).

    With an endpoint name and no model, the endpoint's revisions are served from the store.
    """
    from mainsail.registry._registry import load_model, load_model_dir, resolve_version

    settings = settings or ServeSettings()
    if settings.endpoint and not settings.model and not settings.model_dir:
        return create_endpoint_app(ctx, settings)
    if not settings.model and not settings.model_dir:
        raise MainsailError(
            "Nothing to serve. Give a model address (mainsail serve models:/churn@champion) "
            "or a model folder (--model-dir)."
        )
    predictions = feedback = sketches = None
    endpoint = settings.endpoint

    def make(address: str | None) -> ServedModel:
        loaded = (
            load_model_dir(settings.model_dir) if settings.model_dir else load_model(ctx, address)
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
        root = ctx.settings.resolved_artifact_root()
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
    plane = DataPlane(
        ModelSlot(first),
        settings,
        predictions,
        feedback,
        sketches,
        loader=make,
        resolve=lambda address: resolve_version(ctx, address),
    )
    return build_app(plane)
