"""Release-check results over a Mainsail server's API."""

from __future__ import annotations

from typing import Any

from mainsail.core._errors import NotFoundError
from mainsail.store._rest_client import RestClient, seg

_MAX_ID = 2**63


class RestCheckMixin:
    """The check-result protocol over HTTP; mixed into :class:`RestStore`."""

    client: RestClient

    def create_check_result(self, name: str, version: int, **fields: Any) -> dict[str, Any]:
        """Record a result this client computed (``POST .../checks/record``).

        The server records its authenticated caller as ``created_by`` (a ``created_by``
        given here is not sent) and marks the result as computed by a client.
        """
        body = {k: v for k, v in fields.items() if k != "created_by"}
        path = f"/models/{seg(name)}/versions/{int(version)}/checks/record"
        return _row(self.client.json("POST", path, json=body))

    def list_check_results(
        self, name: str, version: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        path = f"/models/{seg(name)}/checks"
        if version is not None:
            path = f"/models/{seg(name)}/versions/{int(version)}/checks"
        params = {"limit": int(limit)} if limit is not None else None
        return [_row(r) for r in self.client.json("GET", path, params=params)]

    def get_check_result(self, result_id: int) -> dict[str, Any] | None:
        if isinstance(result_id, bool) or not isinstance(result_id, int):
            return None
        if not 1 <= result_id < _MAX_ID:
            return None  # no such id can exist (the route would refuse it as malformed)
        try:
            return _row(self.client.json("GET", f"/checks/{result_id}"))
        except NotFoundError:
            return None


def _row(data: dict[str, Any]) -> dict[str, Any]:
    """A CheckResult from the API as the SQL store's row (no derived ``blessed``/``reason``)."""
    return {k: v for k, v in data.items() if k not in ("blessed", "reason")}
