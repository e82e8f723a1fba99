"""What every data plane shares: settings, prediction and feedback logs, metrics, variant
stats, and the hooks the routes call (pick a variant, record the outcome, read a body).

Two planes build on it: :class:`~mainsail.serving._model_plane.ModelPlane` serves one model
(hot-swapped when its alias moves) and :class:`~mainsail.serving._endpoint_plane.EndpointPlane`
serves an endpoint's revision (variants behind a router, shadows, warm switches).
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request

from mainsail.core._errors import NotFoundError
from mainsail.serving._http import TooLarge
from mainsail.serving._journal import JournalWriter
from mainsail.serving._metrics import ServingMetrics
from mainsail.serving._model import ServedModel
from mainsail.serving._predlog import LiveSketches, SegmentWriter
from mainsail.serving._settings import ServeSettings
from mainsail.serving._variant_stats import VariantStats


class DataPlane:
    """State shared by the routes: logs, metrics and settings; subclasses say what is served."""

    routed = False  # several variants behind a router: replies name the one that answered

    def __init__(
        self,
        settings: ServeSettings,
        predictions: JournalWriter | None,
        feedback: SegmentWriter | None,
        sketches: LiveSketches | None = None,
    ) -> None:
        self.settings = settings
        self.predictions = predictions
        self.feedback = feedback
        self.sketches = sketches
        self.metrics = ServingMetrics()
        self.stats: VariantStats | None = None

    # -- what is served (the subclasses) -----------------------------------------------------
    @property
    def model(self) -> ServedModel:
        """The model that answers by default (and whose name the server reports)."""
        raise NotImplementedError

    def all_models(self) -> list[ServedModel]:
        raise NotImplementedError

    def pick(self, request: Request) -> tuple[ServedModel, bool]:
        """The model for this request, and whether the request itself chose it."""
        raise NotImplementedError

    def rekey(self, model: ServedModel, pinned: bool, frame: Any) -> ServedModel:
        """Re-route by an input field where the plane routes by one (default: no)."""
        return model

    def shadow(self, frame: Any, rows: int, predictions: Any, rid: str) -> None:
        """Copy the request to shadow variants where the plane has them (default: none)."""

    async def watch(self) -> None:
        """Keep what is served up to date, until cancelled (default: nothing to watch)."""

    async def drain(self) -> None:
        """On shutdown: let in-flight requests finish and unload every model."""
        for m in self.all_models():
            await m.close()

    def check_name(
        self, name: str, version: str | None = None, model: ServedModel | None = None
    ) -> ServedModel:
        model = model or self.model
        if name != model.endpoint:
            raise NotFoundError(f"Unknown model {name!r}. This server serves: {model.endpoint}.")
        if version is not None and version != model.version:
            raise NotFoundError(
                f"Model {name!r} has no version {version!r} here. Served version: {model.version}."
            )
        return model

    # -- per request -------------------------------------------------------------------------
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


__all__ = ["DataPlane"]
