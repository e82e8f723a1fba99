"""Automations over a Mainsail server's API: declare, read, switch, trail, ask for a run.

Every change goes through the server's routes, which check the deployer role on the
automation's endpoint, audit the call and record the caller as the actor of a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mainsail.core._errors import AutomationNotFoundError, InvalidValueError
from mainsail.store._rest_client import RestClient, seg
from mainsail.store.protocols.automation import RequestKind


def _path(name: str, tail: str = "") -> str:
    if not isinstance(name, str) or not name:
        raise AutomationNotFoundError(
            f"Expected an automation name (a non-empty string). Got {name!r}. List them with "
            "mainsail.list_automations()."
        )
    return f"/automations/{seg(name)}{tail}"


class RestAutomationMixin:
    """The :class:`~mainsail.store.protocols.AutomationStore` protocol over HTTP."""

    client: RestClient

    def put_automation(self, name: str, endpoint: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        body = {**spec, "name": name, "endpoint": endpoint}
        return dict(self.client.json("PUT", _path(name), json=body))

    def get_automation_row(self, name: str) -> dict[str, Any]:
        return dict(self.client.json("GET", _path(name)))

    def list_automation_rows(self, enabled_only: bool = False) -> list[dict[str, Any]]:
        rows = [dict(a) for a in self.client.json("GET", "/automations")]
        return [r for r in rows if r["enabled"]] if enabled_only else rows

    def set_automation_enabled(self, name: str, enabled: bool) -> dict[str, Any]:
        return dict(self.client.json("POST", _path(name, "/enable" if enabled else "/disable")))

    def automation_trail_rows(self, name: str, limit: int = 200) -> list[dict[str, Any]]:
        data = self.client.json("GET", _path(name, "/events"), params={"limit": int(limit)})
        return [dict(e) for e in data]

    def request_automation(
        self,
        name: str,
        kind: RequestKind,
        reason: str | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        # ``actor`` is not sent: the server records its authenticated caller.
        if kind == "manual":
            return dict(self.client.json("POST", _path(name, "/run"), json={"reason": reason}))
        if kind == "approval":
            return dict(self.client.json("POST", _path(name, "/approve")))
        raise InvalidValueError(
            f"Unknown automation request {kind!r}. Valid requests are: approval, manual."
        )
