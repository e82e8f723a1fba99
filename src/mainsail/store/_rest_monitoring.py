"""Monitors, their results and alerts over a Mainsail server's API.

Declaring, reading and deleting monitors and reading results and alerts are records the
server only guards (roles, audit), so they are store methods. Running a monitor, building
its report and resolving an alert are work the server does next to the live data and its
notifiers: those are the monitoring service's (``mainsail.monitoring``), not the store's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mainsail.store._rest_client import RestClient, seg
from mainsail.store.protocols.monitoring import check_alert_state


def _monitor_path(endpoint: str, name: str, *rest: str) -> str:
    return "/".join(["/monitors", seg(endpoint), seg(name), *rest])


class RestMonitorMixin:
    """The :class:`~mainsail.store.protocols.MonitorStore` protocol over HTTP."""

    client: RestClient

    # -- monitors ----------------------------------------------------------------------------
    def put_monitor(
        self, endpoint: str, name: str, spec: Mapping[str, Any], interval_s: int, enabled: bool
    ) -> dict[str, Any]:
        # The server derives the schedule from the spec itself, as the SQL store's caller did.
        body = {k: v for k, v in spec.items() if k not in ("endpoint", "name")}
        body["enabled"] = bool(enabled)
        return dict(self.client.json("PUT", _monitor_path(endpoint, name), json=body))

    def get_monitor_row(self, endpoint: str, name: str) -> dict[str, Any]:
        return dict(self.client.json("GET", _monitor_path(endpoint, name)))

    def list_monitor_rows(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        params = {"endpoint": endpoint} if endpoint is not None else {}
        return [dict(m) for m in self.client.json("GET", "/monitors", params=params)]

    def delete_monitor(self, endpoint: str, name: str) -> None:
        self.client.json("DELETE", _monitor_path(endpoint, name))

    # -- results -----------------------------------------------------------------------------
    def list_monitor_results(
        self, endpoint: str, name: str, limit: int = 100, since_ms: int | None = None
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": int(limit)}
        if since_ms is not None:
            params["since_ms"] = int(since_ms)
        path = _monitor_path(endpoint, name, "results")
        return [dict(r) for r in self.client.json("GET", path, params=params)]

    def monitor_score_series(
        self, endpoint: str, name: str, limit: int = 100
    ) -> list[dict[str, Any]]:
        path = _monitor_path(endpoint, name, "scores")
        return [dict(r) for r in self.client.json("GET", path, params={"limit": int(limit)})]

    # -- alerts ------------------------------------------------------------------------------
    def list_alert_rows(
        self,
        endpoint: str | None = None,
        state: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": int(limit)}
        if endpoint is not None:
            params["endpoint"] = endpoint
        if check_alert_state(state) is not None:
            params["state"] = state
        return [dict(a) for a in self.client.json("GET", "/alerts", params=params)]

    def get_alert_row(self, alert_id: int) -> dict[str, Any]:
        return dict(self.client.json("GET", f"/alerts/{int(alert_id)}"))
