"""Explanations on the data plane, next to the predictions they explain.

- ``POST /v2/models/{name}[/versions/{v}]/explain``: V2 tensors in (the same payloads as
  ``.../infer``, checked against the signature the same way), attributions out as V2 output
  tensors ``attributions`` (rows x features [x outputs]), ``base_values`` and ``output``; the
  method, output space and feature names are in ``parameters``. ``parameters.method`` picks
  an explainer (default ``auto``).
- ``POST /explain``: MLflow-style payloads (``dataframe_split``, ``dataframe_records``,
  ``instances``, ``inputs``, CSV), as ``/invocations`` takes them; ``?method=`` picks one.
- ``GET /v1/explanations/{request_id}``: the rows a logged prediction was made on, read back
  from the prediction log, explained with the model version that answered.

Concurrent requests for one model and method are explained in one call (a small batcher:
a task waits ``max_wait_ms`` after the first request for others, then explains every row
it has in a worker thread, until none is left), since TreeSHAP and the closed forms are
vectorised. The model's
:class:`~mainsail.explanations.ModelView` is built once per served model; sampling methods
measure against the version's reference sample. Behind ``mainsail server --endpoint`` these
routes need a token with the ``predict`` scope, as inference does.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from typing import Any

import numpy as np
import pandas as pd
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mainsail.core._errors import MainsailError, NotFoundError
from mainsail.explanations._explain import explain_view
from mainsail.explanations._explanation import Explanation
from mainsail.explanations._model import ModelView, model_view
from mainsail.serving._http import json_response
from mainsail.serving._model import ServedModel
from mainsail.serving._payloads import PayloadError, loads, parse_invocations, parse_v2
from mainsail.serving._plane import DataPlane

#: Rows one explain call takes at most (requests beyond it wait for the next call).
MAX_BATCH_ROWS = 1024


class ExplainBatcher:
    """Explains the rows of concurrent requests for one model and method in one call."""

    def __init__(self, model: ServedModel, method: str, max_wait_s: float) -> None:
        self.model = model
        self.method = method
        self.max_wait_s = max_wait_s
        self._view: ModelView | None = None
        self._pending: list[tuple[pd.DataFrame, asyncio.Future[Explanation]]] = []
        self._drainer: asyncio.Task[None] | None = None

    def view(self) -> ModelView:
        if self._view is None:
            self._view = model_view(None, self.model.loaded)
        return self._view

    async def submit(self, frame: pd.DataFrame) -> Explanation:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Explanation] = loop.create_future()
        self._pending.append((frame, future))
        if self._drainer is None or self._drainer.done():
            # a task of its own: a client that disconnects cancels its wait, not the batch
            # the other requests are waiting on
            self._drainer = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        if self.max_wait_s > 0:
            await asyncio.sleep(self.max_wait_s)  # let concurrent requests join the batch
        while self._pending:
            await self._run(self._take())

    def _take(self) -> list[tuple[pd.DataFrame, asyncio.Future[Explanation]]]:
        taken: list[tuple[pd.DataFrame, asyncio.Future[Explanation]]] = []
        rows = 0
        while self._pending and (not taken or rows + len(self._pending[0][0]) <= MAX_BATCH_ROWS):
            item = self._pending.pop(0)
            taken.append(item)
            rows += len(item[0])
        return taken

    async def _run(self, batch: list[tuple[pd.DataFrame, asyncio.Future[Explanation]]]) -> None:
        frames = [f for f, _ in batch]
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        try:
            e = await asyncio.to_thread(explain_view, self.view(), frame, self.method, None, {})
        except Exception as exc:  # noqa: BLE001 - every request of the batch gets the error
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        start = 0
        for f, fut in batch:
            if not fut.done():
                fut.set_result(e if len(batch) == 1 else e.subset(start, start + len(f)))
            start += len(f)


_BATCHERS: weakref.WeakKeyDictionary[ServedModel, dict[str, ExplainBatcher]] = (
    weakref.WeakKeyDictionary()
)


def batcher_for(model: ServedModel, method: str, max_wait_s: float) -> ExplainBatcher:
    """The batcher of ``model`` and ``method`` (gone with the model when it is swapped out)."""
    per_model = _BATCHERS.setdefault(model, {})
    found = per_model.get(method)
    if found is None:
        found = per_model[method] = ExplainBatcher(model, method, max_wait_s)
    return found


def _method(value: Any) -> str:
    if value is None:
        return "auto"
    if not isinstance(value, str) or not value:
        raise PayloadError(f"'method' must be an explainer name. Got {value!r}.")
    return value


def _tensor(name: str, arr: np.ndarray) -> dict[str, Any]:
    return {"name": name, "shape": list(arr.shape), "datatype": "FP64", "data": arr.reshape(-1)}


def _facts(e: Explanation) -> dict[str, Any]:
    return {
        "method": e.method,
        "exact": e.exact,
        "output_space": e.output_space,
        "feature_names": e.feature_names,
        "outputs": e.outputs,
        "additivity_error": e.additivity_error,
        "background_rows": e.background_rows,
    }


def _error(exc: Exception, rid: str) -> Response:
    if isinstance(exc, MainsailError):
        body = {"error": exc.message, "type": type(exc).__name__}
        return json_response(body, exc.status, {"x-request-id": rid})
    body = {"error": f"Internal error: {type(exc).__name__}", "type": "internal"}
    return json_response(body, 500, {"x-request-id": rid})


class ExplainHandlers:
    """The explain routes over one plane."""

    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane

    @property
    def max_wait_s(self) -> float:
        return float(self.plane.settings.max_wait_ms) / 1000.0

    def served(self, name: str, version: str | None) -> ServedModel:
        """The served model ``name`` (and ``version``) names: the default, or that version."""
        plane = self.plane
        if version is None:
            return plane.check_name(name)
        for m in plane.all_models():
            if m.endpoint == name and m.version == version:
                return m
        return plane.check_name(name, version)  # raises, naming what is served

    async def explain_v2(self, request: Request) -> Response:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        try:
            model = self.served(request.path_params["name"], request.path_params.get("version"))
            body = await self.plane.read_body(request)
            hdr = request.headers.get("inference-header-content-length")
            length = int(hdr) if hdr and hdr.isdigit() else None
            req = parse_v2(body, length, model.checker)
            doc = loads(body[:length] if length is not None else body)
            method = _method((doc.get("parameters") or {}).get("method"))
            batcher = batcher_for(model, method, self.max_wait_s)
            e = await batcher.submit(req.prepared.frame)
            rid = req.id or rid
        except Exception as exc:  # noqa: BLE001 - rendered as a JSON error
            return _error(exc, rid)
        out = {
            "model_name": model.endpoint,
            "model_version": model.version,
            "id": rid,
            "parameters": _facts(e),
            "outputs": [
                _tensor("attributions", e.values),
                _tensor("base_values", e.base_values),
                _tensor("output", e.output),
            ],
        }
        return json_response(out, headers={"x-request-id": rid})

    async def explain_mlflow(self, request: Request) -> Response:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        try:
            model = self.plane.model
            body = await self.plane.read_body(request)
            prepared = parse_invocations(
                body, request.headers.get("content-type", ""), model.checker
            )
            method = _method(request.query_params.get("method"))
            e = await batcher_for(model, method, self.max_wait_s).submit(prepared.frame)
        except Exception as exc:  # noqa: BLE001 - rendered as a JSON error
            return _error(exc, rid)
        out = {"model_version": model.version, **e.to_dict()}
        return json_response(out, headers={"x-request-id": rid})

    async def by_request(self, request: Request) -> Response:
        rid = request.path_params["request_id"]
        try:
            log = self.plane.predictions
            if log is None:
                raise NotFoundError(
                    "This server does not log predictions, so it cannot explain one by request "
                    "id. Serve with prediction logging on (MAINSAIL_SERVE_LOG_PREDICTIONS=true)."
                )
            await asyncio.to_thread(log.flush)  # a prediction served a moment ago is there
            rows = await asyncio.to_thread(logged_rows, log.fs, log.base, rid)
            if rows.empty:
                raise NotFoundError(
                    f"No logged prediction of {self.plane.model.endpoint!r} has request id "
                    f"{rid!r}. Use the id a prediction returned in its x-request-id header."
                )
            version = str(rows["model_version"].iloc[0])
            model = self._version(version)
            prepared = model.checker.from_frame(_inputs(rows))
            method = _method(request.query_params.get("method"))
            e = await batcher_for(model, method, self.max_wait_s).submit(prepared.frame)
        except Exception as exc:  # noqa: BLE001 - rendered as a JSON error
            return _error(exc, rid)
        out = {
            "request_id": rid,
            "model_name": model.endpoint,
            "model_version": model.version,
            "variant": str(rows["variant"].iloc[0]) if "variant" in rows else model.variant,
            "logged_at": int(rows["ts"].iloc[0]),
            "prediction": rows["prediction"].tolist() if "prediction" in rows else None,
            **e.to_dict(data=True),
        }
        return json_response(out, headers={"x-request-id": rid})

    def _version(self, version: str) -> ServedModel:
        for m in self.plane.all_models():
            if m.version == version:
                return m
        served = ", ".join(sorted({m.version for m in self.plane.all_models()}))
        name = self.plane.model.loaded.version.name
        raise NotFoundError(
            f"The prediction was made by version {version}, which this server no longer serves "
            f"(it serves: {served}). Explain its rows with mainsail.explain("
            f"'models:/{name}/{version}', rows)."
        )

    def routes(self) -> list[Route]:
        return [
            Route("/v2/models/{name}/explain", self.explain_v2, methods=["POST"]),
            Route(
                "/v2/models/{name}/versions/{version}/explain", self.explain_v2, methods=["POST"]
            ),
            Route("/explain", self.explain_mlflow, methods=["POST"]),
            Route("/v1/explanations/{request_id}", self.by_request),
        ]


def logged_rows(fs: Any, base: str, request_id: str) -> pd.DataFrame:
    """The prediction-log rows of ``request_id`` under ``base``, in request row order."""
    import pyarrow.dataset as pads

    if not fs.exists(base):
        return pd.DataFrame()
    files = sorted(p for p in fs.find(base) if p.endswith(".parquet") and "/." not in p)
    frames = []
    for p in files:
        ds_ = pads.dataset(p, filesystem=fs, format="parquet")
        if "request_id" not in ds_.schema.names:
            continue
        table = ds_.to_table(filter=pads.field("request_id") == request_id)
        if table.num_rows:
            frames.append(table.to_pandas())
    if not frames:
        return pd.DataFrame()
    rows = pd.concat(frames, ignore_index=True)
    return rows.sort_values("row").reset_index(drop=True) if "row" in rows else rows


def _inputs(rows: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in rows.columns if c.startswith("input.")]
    return rows[cols].rename(columns=lambda c: c[len("input.") :])


__all__ = ["ExplainBatcher", "ExplainHandlers", "batcher_for", "logged_rows"]
