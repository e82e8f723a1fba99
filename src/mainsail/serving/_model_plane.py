"""The single-model plane: ``mainsail serve models:/churn@champion`` (or a model folder).

One model answers every request. When it was given by alias, the alias is re-resolved
every ``reload_interval_s`` and the model hot-swapped when it moves to another version.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request

from mainsail.core._errors import MainsailError
from mainsail.serving._journal import JournalWriter, prediction_journal
from mainsail.serving._model import ModelSlot, ServedModel
from mainsail.serving._plane import DataPlane
from mainsail.serving._predlog import LiveSketches, SegmentWriter
from mainsail.serving._routes import build_app
from mainsail.serving._settings import ServeSettings

if TYPE_CHECKING:
    from mainsail.core._registry_schemas import ModelVersion
    from mainsail.store._context import Context


class ModelPlane(DataPlane):
    """One served model in a slot that can be swapped atomically."""

    def __init__(
        self,
        slot: ModelSlot,
        settings: ServeSettings,
        predictions: JournalWriter | None,
        feedback: SegmentWriter | None,
        sketches: LiveSketches | None = None,
        loader: Callable[[str | None], ServedModel] | None = None,
        resolve: Callable[[str], ModelVersion] | None = None,
    ) -> None:
        super().__init__(settings, predictions, feedback, sketches)
        self.slot = slot
        self.loader = loader  # address -> ServedModel, for the hot swap
        self.resolve = resolve  # address -> ModelVersion: where an alias points now

    @property
    def model(self) -> ServedModel:
        return self.slot.current

    def all_models(self) -> list[ServedModel]:
        return [self.slot.current]

    def pick(self, request: Request) -> tuple[ServedModel, bool]:
        return self.slot.current, True

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


def create_model_app(ctx: Context, settings: ServeSettings) -> Starlette:
    """The data plane of one model (``settings.model`` or ``settings.model_dir``)."""
    from mainsail.registry._registry import load_model, load_model_dir, resolve_version

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
            batch_budget_ms=settings.batch_budget_ms,
        )

    first = make(settings.model)
    endpoint = first.endpoint
    if settings.log_predictions:
        root = ctx.settings.resolved_artifact_root()
        feedback = SegmentWriter(root, "feedback", endpoint, settings.log_flush_interval)
        from mainsail.data._profile import Profile

        ref = first.loaded.version.reference_profile
        sketches = LiveSketches(root, endpoint, reference=Profile.from_dict(ref) if ref else None)
        predictions = prediction_journal(ctx, settings, endpoint, sketches)
        first.log = predictions
        first.batcher._on_batch = first._on_batch
    plane = ModelPlane(
        ModelSlot(first),
        settings,
        predictions,
        feedback,
        sketches,
        loader=make,
        resolve=lambda address: resolve_version(ctx, address),
    )
    return build_app(plane)


__all__ = ["ModelPlane", "create_model_app"]
