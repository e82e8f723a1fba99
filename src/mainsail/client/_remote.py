"""When the SDK talks to a Mainsail server, the domain APIs call its ``/api/v1`` routes.

Tracking and the registry go through :class:`~mainsail.store._rest_store.RestStore`, which
mirrors the SQL store method by method. The other domains (delivery, monitoring, checks,
automation, pipelines, jobs) have domain-level routes that validate, authorise and audit a
whole operation, so their SDK functions dispatch on :func:`server`::

    if (api := server(ctx)) is not None:
        return Rollout(**api.json("POST", f"/endpoints/{_seg(endpoint)}/deploy", json=body))
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from mainsail.store._context import Context
    from mainsail.store._rest_store import RestClient


def server(ctx: Context) -> RestClient | None:
    """The server's client when ``MAINSAIL_TRACKING_URI`` points at one, else ``None``."""
    return ctx.remote


def seg(value: str | int) -> str:
    """One URL path segment (names may hold ``/`` or spaces)."""
    return quote(str(value), safe="")
