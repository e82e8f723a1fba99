"""The data-plane ASGI app: which plane to build from the settings.

With a model address or folder, :func:`~mainsail.serving._model_plane.create_model_app`
serves that one model; with only an endpoint name,
:func:`~mainsail.serving._endpoint_plane.create_endpoint_app` serves the endpoint's current
revision from the store. Both share the routes of :mod:`mainsail.serving._routes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette

from mainsail.serving._endpoint_plane import EndpointPlane, create_endpoint_app
from mainsail.serving._http import TooLarge
from mainsail.serving._http import json_response as _json
from mainsail.serving._model_plane import ModelPlane, create_model_app
from mainsail.serving._plane import DataPlane
from mainsail.serving._routes import build_app
from mainsail.serving._settings import ServeSettings

if TYPE_CHECKING:
    from mainsail.store._context import Context


def create_app(ctx: Context, settings: ServeSettings | None = None) -> Starlette:
    """Build the data plane over ``ctx`` from settings (``MAINSAIL_SERVE_*``).

    With an endpoint name and no model, the endpoint's revisions are served from the store.

    Examples
    --------
    >>> app = create_app(ctx, ServeSettings(model="models:/churn@champion"))  # doctest: +SKIP
    """
    settings = settings or ServeSettings()
    if settings.endpoint and not settings.model and not settings.model_dir:
        return create_endpoint_app(ctx, settings)
    return create_model_app(ctx, settings)


__all__ = [
    "DataPlane",
    "EndpointPlane",
    "ModelPlane",
    "TooLarge",
    "_json",
    "build_app",
    "create_app",
    "create_endpoint_app",
    "create_model_app",
]
