"""Delivery as a service: one protocol, a local implementation next to the database and a
remote one against a Mainsail server.

The public functions (:mod:`mainsail.rollout._api`) validate their input once and call
``ctx.service(DELIVERY)``; the context picks the implementation by where it stands. The
server's ``/api/v1/endpoints`` routes call those same functions with the server's own
context, so behind a server the local implementation does the work, and both give the same
objects and the same error classes.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mainsail.rollout._types import ABReport, Endpoint, Rollout, RolloutSpec, ShadowReport
from mainsail.store._context import Service


@runtime_checkable
class DeliveryService(Protocol):
    """Deploy, inspect and steer rollouts; A/B and shadow reports.

    Inputs arrive validated (a checked endpoint name, a registered strategy name, a parsed
    spec, limits in range). ``actor`` is who asked: recorded on what a call writes next to
    the database; a server records its authenticated caller instead.
    """

    def deploy(
        self,
        endpoint: str,
        model: str,
        strategy: str,
        spec: RolloutSpec,
        source: str,
        reason: str | None,
        actor: str | None,
    ) -> Rollout: ...
    def get_endpoint(self, name: str) -> Endpoint: ...
    def list_endpoints(self) -> list[Endpoint]: ...
    def get_rollout(self, endpoint: str, id: int | None) -> Rollout | None: ...  # noqa: A002
    def list_rollouts(self, endpoint: str | None, limit: int) -> list[Rollout]: ...
    def promote(self, endpoint: str, actor: str | None) -> Rollout: ...
    def pause(self, endpoint: str) -> Rollout: ...
    def resume(self, endpoint: str) -> Rollout: ...
    def abort(self, endpoint: str, actor: str | None) -> Rollout: ...
    def rollback(self, endpoint: str, actor: str | None) -> Rollout: ...
    def declare_winner(self, endpoint: str, arm: str, actor: str | None) -> Rollout: ...
    def ab_report(self, endpoint: str, alpha: float, mde: float | None) -> ABReport: ...
    def shadow_report(self, endpoint: str) -> ShadowReport: ...


DELIVERY: Service[DeliveryService] = Service(
    "delivery",
    local="mainsail.rollout._local:LocalDelivery",
    remote="mainsail.rollout._remote:RemoteDelivery",
)

__all__ = ["DELIVERY", "DeliveryService"]
