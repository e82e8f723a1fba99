"""The endpoint plane: ``mainsail serve --endpoint churn`` serves the endpoint's revision.

The revision's variants sit behind a :class:`~mainsail.serving._router.Router` (O(1) pick
by weight, sticky key or the ``x-mainsail-variant`` header); shadows get copies. The plane
polls the store for the current revision, loads what a new one needs while the old one keeps
answering, switches the router atomically, and keeps retired variants warm through the
rollback window.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request

from mainsail.core._errors import MainsailError, NotFoundError
from mainsail.serving._journal import JournalWriter, prediction_journal
from mainsail.serving._model import ServedModel
from mainsail.serving._plane import DataPlane
from mainsail.serving._predlog import LiveSketches, SegmentWriter
from mainsail.serving._router import Route as VariantRoute
from mainsail.serving._router import Router
from mainsail.serving._routes import build_app
from mainsail.serving._settings import ServeSettings
from mainsail.serving._shadow import ShadowDispatcher
from mainsail.serving._variant_stats import VariantStats

if TYPE_CHECKING:
    from mainsail.store._context import Context

_MIN_RETIRE_S = 5.0  # a retired variant outlives any request that picked it before the switch
log = logging.getLogger("mainsail.serving")

Loader = Callable[[str, str], ServedModel]
RevisionSource = Callable[[str], "dict[str, Any] | None"]


class EndpointPlane(DataPlane):
    """An endpoint's variants behind a router, refreshed from the store."""

    routed = True

    def __init__(
        self,
        name: str,
        router: Router,
        loaded: dict[str, ServedModel],
        settings: ServeSettings,
        predictions: JournalWriter | None,
        feedback: SegmentWriter | None,
        sketches: LiveSketches | None = None,
        loader: Loader | None = None,
        revision_source: RevisionSource | None = None,
    ) -> None:
        super().__init__(settings, predictions, feedback, sketches)
        self.endpoint_name = name
        self.router = router
        self.loaded = loaded  # address -> model, what the current revision needs
        self.retired: dict[str, tuple[ServedModel, float]] = {}
        self.loader = loader  # (address, variant) -> ServedModel
        self.revision_source = revision_source  # endpoint -> its current revision, or None
        self.shadows = ShadowDispatcher(settings.shadow_max_in_flight)
        self._failed_revision: tuple[int, float] | None = None

    @property
    def model(self) -> ServedModel:
        return self.router.default  # type: ignore[no-any-return]

    def all_models(self) -> list[ServedModel]:
        return list(self.loaded.values())

    # -- routing -----------------------------------------------------------------------------
    def pick(self, request: Request) -> tuple[ServedModel, bool]:
        router = self.router
        variant = request.headers.get("x-mainsail-variant")
        if variant is not None and variant not in router.by_name:
            variant = None  # unknown, or a shadow: routed as if the header were absent
        key = request.headers.get(router.key_header)
        return router.pick(variant, key), variant is not None or key is not None

    def rekey(self, model: ServedModel, pinned: bool, frame: Any) -> ServedModel:
        """Sticky assignment by a named input field (the first row's value)."""
        router = self.router
        if pinned or router.key_field is None:
            return model
        if router.key_field in frame.columns and len(frame):
            picked: ServedModel = router.pick(key=str(frame[router.key_field].iloc[0]))
            return picked
        return model

    def shadow(self, frame: Any, rows: int, predictions: Any, rid: str) -> None:
        router = self.router
        if router.wants_shadow():
            self.shadows.send(router.shadows, frame, rows, predictions, rid, self.stats)

    def check_name(
        self, name: str, version: str | None = None, model: ServedModel | None = None
    ) -> ServedModel:
        model = model or self.model
        if name != model.endpoint:
            raise NotFoundError(f"Unknown model {name!r}. This server serves: {model.endpoint}.")
        if version is not None and version != model.version:
            for route in self.router.routes:
                if route.role != "shadow" and route.model.version == version:
                    return route.model  # type: ignore[no-any-return]
            served = sorted({r.model.version for r in self.router.routes if r.role != "shadow"})
            raise NotFoundError(
                f"Model {name!r} has no version {version!r} here. "
                f"Served versions: {', '.join(served)}."
            )
        return model

    # -- following the endpoint's revisions --------------------------------------------------
    async def watch(self) -> None:
        """Poll the endpoint's current revision; load new variants warm, then switch."""
        interval = self.settings.endpoint_poll_s
        if self.revision_source is None or interval <= 0:
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
        loaded: dict[str, ServedModel] = {}
        for v in rev["variants"]:
            address = f"models:/{v['model']}/{v['version']}"
            if address in loaded:
                continue
            m = self.loaded.get(address)
            if m is None and address in self.retired:
                m = self.retired.pop(address)[0]
            if m is None:
                if self.loader is None:
                    raise MainsailError(f"This plane cannot load {address}: it has no loader.")
                fresh = await asyncio.to_thread(self.loader, address, v["name"])
                fresh.batcher.start()
                await asyncio.to_thread(fresh.warm)
                m = fresh
            loaded[address] = m
        self.router = revision_router(rev, loaded)
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

    async def drain(self) -> None:
        await self.shadows.drain(timeout=10)
        await super().drain()
        await self.reap(force=True)


def revision_router(rev: dict[str, Any], loaded: dict[str, ServedModel]) -> Router:
    """The router of a revision, over models already loaded (by address)."""
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
    if not name:
        raise MainsailError("No endpoint to serve. Give one: mainsail serve --endpoint NAME.")
    store = ctx.database("Serving an endpoint")
    rev = store.get_revision(name)
    if rev is None:
        store.get_endpoint_record(name)  # raises with the list of endpoints
        raise MainsailError(f"Endpoint {name!r} has no revision yet. Deploy a model to it.")
    predictions = feedback = sketches = None
    if settings.log_predictions:
        root = ctx.settings.resolved_artifact_root()
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
            batch_budget_ms=settings.batch_budget_ms,
        )

    loaded: dict[str, ServedModel] = {}
    for v in rev["variants"]:
        address = f"models:/{v['model']}/{v['version']}"
        if address not in loaded:
            loaded[address] = make(address, v["name"])
    router = revision_router(rev, loaded)
    if feedback is not None:
        from mainsail.data._profile import Profile

        ref = router.default.loaded.version.reference_profile
        sketches = LiveSketches(
            ctx.settings.resolved_artifact_root(),
            name,
            reference=Profile.from_dict(ref) if ref else None,
        )
        predictions = prediction_journal(ctx, settings, name, sketches)
        for m in loaded.values():
            m.log = predictions
            m.batcher._on_batch = m._on_batch
    plane = EndpointPlane(
        name, router, loaded, settings, predictions, feedback, sketches,
        loader=make, revision_source=store.get_revision,
    )  # fmt: skip
    plane.stats = VariantStats(
        name,
        store.write_serving_stats,
        window_s=settings.stats_window_s,
        flush_s=settings.stats_flush_s,
    )
    return build_app(plane)


__all__ = ["EndpointPlane", "create_endpoint_app", "revision_router"]
