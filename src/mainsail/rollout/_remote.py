"""Delivery against a Mainsail server: the ``/api/v1/endpoints`` routes.

The server validates, authorises, audits and records its authenticated caller (a rollout's
``source`` is ``api:<user>``); this side only builds the same objects from the JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mainsail.core._errors import EndpointNotFoundError, NotFoundError
from mainsail.rollout._types import ABReport, Endpoint, Rollout, RolloutSpec, ShadowReport
from mainsail.store._rest_client import seg

if TYPE_CHECKING:
    from mainsail.store._context import Context
    from mainsail.store._rest_client import RestClient


def _at(endpoint: str, *rest: str | int) -> str:
    """The API path of an endpoint (``/endpoints/NAME/...``)."""
    return "/".join(["/endpoints", seg(endpoint), *(str(r) for r in rest)])


class RemoteDelivery:
    """:class:`~mainsail.rollout.DeliveryService` over a server's REST API."""

    def __init__(self, ctx: Context) -> None:
        if ctx.remote is None:
            raise TypeError("RemoteDelivery needs a context with a server (ctx.remote).")
        self.api: RestClient = ctx.remote

    def _steer(self, endpoint: str, action: str) -> Rollout:
        return Rollout.model_validate(self.api.json("POST", _at(endpoint, "rollout", action)))

    def deploy(
        self,
        endpoint: str,
        model: str,
        strategy: str,
        spec: RolloutSpec,
        source: str,
        reason: str | None,
        actor: str | None,
    ) -> Rollout:
        body = {
            "model": model,
            "strategy": strategy,
            "spec": spec.model_dump(mode="json", exclude_defaults=True),
            "reason": reason,
        }
        return Rollout.model_validate(self.api.json("POST", _at(endpoint, "deploy"), json=body))

    def get_endpoint(self, name: str) -> Endpoint:
        return Endpoint.model_validate(self.api.json("GET", _at(name)))

    def list_endpoints(self) -> list[Endpoint]:
        return [Endpoint.model_validate(e) for e in self.api.json("GET", "/endpoints")]

    def get_rollout(self, endpoint: str, id: int | None) -> Rollout | None:  # noqa: A002
        if id is None:
            latest = self.api.json("GET", _at(endpoint, "rollouts"), params={"limit": 1})
            return Rollout.model_validate(latest[0]) if latest else None
        if not 1 <= int(id) < 2**63:  # no such id; still an error for an unknown endpoint
            self.api.json("GET", _at(endpoint, "rollouts"), params={"limit": 1})
            return None
        try:
            return Rollout.model_validate(self.api.json("GET", _at(endpoint, "rollouts", int(id))))
        except EndpointNotFoundError:
            raise
        except NotFoundError:  # the endpoint exists, the rollout does not
            return None

    def list_rollouts(self, endpoint: str | None, limit: int) -> list[Rollout]:
        path = _at(endpoint, "rollouts") if endpoint is not None else "/rollouts"
        rows = self.api.json("GET", path, params={"limit": limit})
        return [Rollout.model_validate(r) for r in rows]

    def promote(self, endpoint: str, actor: str | None) -> Rollout:
        return self._steer(endpoint, "promote")

    def pause(self, endpoint: str) -> Rollout:
        return self._steer(endpoint, "pause")

    def resume(self, endpoint: str) -> Rollout:
        return self._steer(endpoint, "resume")

    def abort(self, endpoint: str, actor: str | None) -> Rollout:
        return self._steer(endpoint, "abort")

    def rollback(self, endpoint: str, actor: str | None) -> Rollout:
        return self._steer(endpoint, "rollback")

    def declare_winner(self, endpoint: str, arm: str, actor: str | None) -> Rollout:
        body = {"arm": arm}
        return Rollout.model_validate(self.api.json("POST", _at(endpoint, "winner"), json=body))

    def ab_report(self, endpoint: str, alpha: float, mde: float | None) -> ABReport:
        params: dict[str, float] = {"alpha": alpha, **({"mde": mde} if mde is not None else {})}
        found = self.api.json("GET", _at(endpoint, "ab-report"), params=params)
        return ABReport.model_validate(found)

    def shadow_report(self, endpoint: str) -> ShadowReport:
        return ShadowReport.model_validate(self.api.json("GET", _at(endpoint, "shadow-report")))


__all__ = ["RemoteDelivery"]
