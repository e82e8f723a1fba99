"""The monitoring service against a Mainsail server: its routes do the work there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mainsail.core._errors import ConfigurationError
from mainsail.monitoring._alerts import Alert
from mainsail.monitoring._spec import MonitorResult
from mainsail.store._rest_client import RestClient, seg

if TYPE_CHECKING:
    from mainsail.store._context import Context


def _path(endpoint: str, name: str, tail: str) -> str:
    return f"/monitors/{seg(endpoint)}/{seg(name)}/{tail}"


class RemoteMonitoring:
    """:class:`~mainsail.monitoring._service.MonitoringService` over the server's routes."""

    def __init__(self, ctx: Context) -> None:
        api = ctx.remote
        if api is None:  # the context picks this implementation only for a server
            raise ConfigurationError(
                "The remote monitoring service needs a Mainsail server: set "
                "MAINSAIL_TRACKING_URI to its URL."
            )
        self.api: RestClient = api

    def run(
        self, endpoint: str, name: str, window: str | None = None, now_ms: int | None = None
    ) -> MonitorResult:
        params: dict[str, str | int] = {}
        if window is not None:
            params["window"] = window
        if now_ms is not None:
            params["now_ms"] = int(now_ms)
        doc = self.api.json("POST", _path(endpoint, name, "run"), params=params)
        return MonitorResult.model_validate(doc)

    def report(
        self, endpoint: str, name: str, window: str | None = None, history: int = 200
    ) -> dict[str, Any]:
        params: dict[str, str | int] = {"history": int(history)}
        if window is not None:
            params["window"] = window
        doc: dict[str, Any] = self.api.json("GET", _path(endpoint, name, "report"), params=params)
        return doc

    def resolve_alert(self, alert_id: int) -> Alert:
        return Alert.model_validate(self.api.json("POST", f"/alerts/{int(alert_id)}/resolve"))
