"""The server application: one FastAPI app for the control plane, controllers and inference."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from mainsail.security._service import Authenticator
from mainsail.server._errors import install_error_handlers
from mainsail.server._limits import BodySizeLimit

if TYPE_CHECKING:
    from mainsail.controllers._manager import ControllerManager
    from mainsail.store._context import Context

log = logging.getLogger("mainsail.server")

API_PREFIX = "/api/v1"


@dataclass
class ServerState:
    ctx: Context
    auth: bool
    authenticator: Authenticator
    max_upload_bytes: int
    controllers: ControllerManager | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def importable_controllers(names: Sequence[str] | None = None) -> list[str]:
    """The registered controllers whose module imports (others are logged and skipped)."""
    from mainsail.controllers import available_controllers

    return available_controllers(names)


def create_app(
    ctx: Context,
    *,
    auth: bool = True,
    controllers: bool | Sequence[str] = False,
    cors_origins: Sequence[str] = (),
    max_request_mb: float = 32.0,
    max_upload_mb: float = 10240.0,
    inference: Any = None,
    ui: bool = True,
) -> FastAPI:
    """Build the Mainsail server app over a SQL-backed context.

    Parameters
    ----------
    ctx : Context
        The store the server exposes (a SQL store: ``mainsail.store.open_context(settings)``).
    auth : bool
        Require bearer tokens (the default). ``False`` makes every caller an anonymous admin.
    controllers : bool or list of str
        Start the controllers in the lifespan: ``True`` for every importable one.
    cors_origins : list of str
        Origins allowed by CORS; empty (the default) turns CORS off.
    max_request_mb, max_upload_mb : float
        Largest JSON request body, and largest artifact upload.
    inference : ASGI app, optional
        The data plane (``mainsail.serving._app.create_app``) to host in the same process:
        mounted after the API routes, its lifespan (model loading, batchers, log flushing)
        run inside the server's.
    ui : bool
        Serve the web UI at ``/`` (``mainsail.ui``; the default).

    Examples
    --------
    >>> app = create_app(open_context(Settings(home="/tmp/ms")), auth=False)  # doctest: +SKIP
    """
    from mainsail.server import routers

    st = ServerState(
        ctx=ctx,
        auth=auth,
        authenticator=Authenticator(ctx.database("The server")),
        max_upload_bytes=int(max_upload_mb * 1024 * 1024),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if controllers:
            from mainsail.controllers._manager import ControllerManager

            wanted = None if controllers is True else list(controllers)  # type: ignore[arg-type]
            names = importable_controllers(wanted)
            log.info("starting controllers: %s", ", ".join(names) or "none")
            st.controllers = ControllerManager(ctx, names=names)
            st.controllers.start()
        try:
            if inference is not None:
                async with inference.router.lifespan_context(inference):
                    yield
            else:
                yield
        finally:
            if st.controllers is not None:
                st.controllers.stop()
                st.controllers = None

    app = FastAPI(
        title="Mainsail",
        version="1",
        description="Mainsail control-plane API: tracking, datasets, registry, security.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.mainsail = st
    install_error_handlers(app)
    for module in routers.ALL:
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(routers.health.root)
    routers.mlflow.mount(app)
    if ui:
        from mainsail.ui import mount_ui

        mount_ui(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=int(max_request_mb * 1024 * 1024),
        streaming_paths={f"{API_PREFIX}/artifacts": st.max_upload_bytes},
    )
    if inference is not None:
        mount_inference(app, inference)
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
        )
    return app


def mount_inference(app: FastAPI, inference_app: Any) -> None:
    """Mount the data-plane ASGI app (``/v2/...``, ``/invocations``) after the API routes.

    When auth is on, inference calls need a token with the ``predict`` scope.
    """
    from mainsail.server._limits import PredictScope

    st: ServerState = app.state.mainsail
    wrapped: Any = PredictScope(inference_app, st) if st.auth else inference_app
    app.mount("/", wrapped)
