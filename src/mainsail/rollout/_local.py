"""Delivery next to the database: deploy, roll back, inspect and steer rollouts.

Embedded, the SDK runs this; behind a server, the server's routes do. A deploy and a
rollback each write their revision and their rollout in one store call (one transaction);
progressive rollouts are then moved on by the rollout controller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mainsail.core._errors import EndpointNotFoundError, InvalidValueError, RolloutStateError
from mainsail.core._ids import now_ms
from mainsail.registry._registry import resolve_version
from mainsail.rollout import _reports
from mainsail.rollout._controller import RolloutController
from mainsail.rollout._plan import to_rollout
from mainsail.rollout._strategies import STRATEGIES
from mainsail.rollout._types import (
    ACTIVE_STATES,
    ABReport,
    Endpoint,
    Revision,
    Rollout,
    RolloutSpec,
    ShadowReport,
    Variant,
)
from mainsail.store.protocols.rollout import RevisionDraft

if TYPE_CHECKING:
    from mainsail.store._context import Context
    from mainsail.store.protocols import LocalStore


class LocalDelivery:
    """:class:`~mainsail.rollout.DeliveryService` over the SQL store."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def store(self) -> LocalStore:
        return self.ctx.database("Delivery")

    def _controller(self) -> RolloutController:
        return RolloutController(self.ctx)

    def _rollout(self, endpoint: str, rid: int) -> Rollout:
        record = self.store.get_rollout_record(endpoint, rid)
        if record is None:  # pragma: no cover - it was written a moment ago
            raise RolloutStateError(f"Rollout {rid} of {endpoint!r} vanished; try again.")
        return to_rollout(record)

    # -- deploy ------------------------------------------------------------------------------
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
        mv = resolve_version(self.ctx, model)
        target = Variant(name="stable", model=mv.name, version=mv.version, weight=100)
        store = self.store
        try:
            current = store.get_revision(endpoint)
        except EndpointNotFoundError:
            current = None
        if current is None and strategy != "direct":
            # never change strategy on the caller's behalf: a silent 100 % deploy of what was
            # asked to be a 5 % canary is exactly the surprise a canary exists to prevent
            raise InvalidValueError(
                f"Endpoint {endpoint!r} does not exist yet, so a {strategy} rollout of "
                f"{mv.address} has no stable version to start from. Choose one: create the "
                f"endpoint serving it at once with strategy 'direct' (mainsail deploy "
                f"{endpoint} {mv.address} --strategy direct), then roll later versions out by "
                f"{strategy}; or deploy a known-good version directly first and bring "
                f"{mv.address} in with strategy 'blue_green', which serves it as a preview "
                f"before any client traffic reaches it."
            )
        if current is None:  # a new endpoint: created serving the model (direct only)
            draft = RevisionDraft(
                [target.model_dump()], {"name": "direct"}, reason or "created", actor
            )
            doc = {"spec": {}, "stable": target.model_dump(), "target": target.model_dump()}
            rid = store.create_rollout(
                endpoint, "direct", doc, "promoted", source, actor, None,
                message=f"Created {endpoint} serving {mv.address}.",
                revision=draft, create_endpoint=True,
            )  # fmt: skip
            return self._rollout(endpoint, rid)
        active = store.get_rollout_record(endpoint)
        if active is not None and active["state"] in ACTIVE_STATES:
            raise RolloutStateError(
                f"Endpoint {endpoint!r} already has a {active['strategy']} rollout "
                f"{active['id']} ({active['state']}). Promote, abort or roll it back first: "
                f"mainsail rollout promote|abort|rollback {endpoint}."
            )
        variants = [Variant(**v) for v in current["variants"]]
        stable = next((v for v in variants if v.role == "stable"), variants[0])
        if strategy != "direct" and (stable.model, stable.version) == (mv.name, mv.version):
            raise InvalidValueError(
                f"{mv.address} is already the stable variant of {endpoint!r}; a {strategy} "
                "rollout needs another version. Register a new version, or deploy with "
                "strategy='direct'."
            )
        doc = {
            "spec": spec.model_dump(exclude_defaults=True),
            "stable": stable.model_dump(),
            "target": target.model_dump(),
        }
        if strategy == "direct":
            draft = RevisionDraft(
                [target.model_dump()], {"name": "direct"}, reason or "direct deploy", actor
            )
            rid = store.create_rollout(
                endpoint, "direct", doc, "promoted", source, actor, current["revision"],
                message=f"{mv.address} serves 100% of {endpoint}.", revision=draft,
            )  # fmt: skip
            return self._rollout(endpoint, rid)
        rid = store.create_rollout(
            endpoint, strategy, doc, "pending", source, actor, current["revision"],
            message=reason or f"{strategy} of {mv.address} requested.",
        )  # fmt: skip
        record = store.get_rollout_record(endpoint, rid)
        if record is not None:
            self._controller().advance(record, now_ms())  # pending -> progressing right away
        return self._rollout(endpoint, rid)

    def rollback(self, endpoint: str, actor: str | None) -> Rollout:
        store = self.store
        record = store.get_rollout_record(endpoint)
        if record is not None and record["state"] in ACTIVE_STATES:
            return self._controller().roll_back(endpoint, actor or "user")
        rec = store.get_endpoint_record(endpoint)
        current = rec["revision"]
        previous = [r for r in rec["history"] if r["revision"] < current]
        if not previous:
            raise RolloutStateError(
                f"Endpoint {endpoint!r} is at its first revision; there is nothing to roll back to."
            )
        cur = next(r for r in rec["history"] if r["revision"] == current)
        settled_roles = {role for _, s in STRATEGIES.items() for role in s.settled_roles}

        def settled(r: dict[str, Any]) -> bool:  # not an intermediate step of a rollout
            return all(v.get("role") in settled_roles for v in r["variants"])

        prev = next(
            (r for r in reversed(previous) if settled(r) and r["variants"] != cur["variants"]),
            previous[-1],
        )
        stable = next((v for v in cur["variants"] if v.get("role") == "stable"), cur["variants"][0])
        back = next((v for v in prev["variants"] if v.get("role") == "stable"), prev["variants"][0])
        draft = RevisionDraft(
            prev["variants"],
            {**prev["strategy"], "name": "direct"},
            f"rollback to revision {prev['revision']}",
            actor,
        )
        rid = store.create_rollout(
            endpoint, "direct", {"spec": {}, "stable": stable, "target": back}, "rolled_back",
            "rollback", actor, current,
            message=f"Rolled back from revision {current} to the variants of revision "
            f"{prev['revision']}.", revision=draft,
        )  # fmt: skip
        return self._rollout(endpoint, rid)

    # -- reading -----------------------------------------------------------------------------
    def get_endpoint(self, name: str) -> Endpoint:
        rec = self.store.get_endpoint_record(name)
        history = [Revision(**r) for r in rec["history"]]
        current = next((r for r in history if r.revision == rec["revision"]), None)
        return Endpoint(
            name=rec["name"],
            revision=rec["revision"],
            variants=list(current.variants) if current else [],
            history=history,
            created_at=rec["created_at"],
            updated_at=rec["updated_at"],
        )

    def list_endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                name=r["name"],
                revision=r["current_revision"],
                variants=[Variant(**v) for v in r["variants"]],
                history=[],
                created_at=r["updated_at"],
                updated_at=r["updated_at"],
            )
            for r in self.store.list_endpoint_records()
        ]

    def get_rollout(self, endpoint: str, id: int | None) -> Rollout | None:  # noqa: A002
        record = self.store.get_rollout_record(endpoint, id)
        return to_rollout(record) if record is not None else None

    def list_rollouts(self, endpoint: str | None, limit: int) -> list[Rollout]:
        store = self.store
        found = [to_rollout(r) for r in store.list_rollout_records(endpoint, limit=limit)]
        if not found and endpoint is not None:
            store.get_endpoint_record(endpoint, history=False)  # an unknown endpoint: say so
        return found

    # -- steering ----------------------------------------------------------------------------
    def promote(self, endpoint: str, actor: str | None) -> Rollout:
        return self._controller().promote(endpoint, actor or "user")

    def pause(self, endpoint: str) -> Rollout:
        return self._controller().pause(endpoint)

    def resume(self, endpoint: str) -> Rollout:
        return self._controller().resume(endpoint)

    def abort(self, endpoint: str, actor: str | None) -> Rollout:
        return self._controller().abort(endpoint, actor or "user")

    def declare_winner(self, endpoint: str, arm: str, actor: str | None) -> Rollout:
        return self._controller().declare_winner(endpoint, arm, actor or "user")

    # -- reports -----------------------------------------------------------------------------
    def ab_report(self, endpoint: str, alpha: float, mde: float | None) -> ABReport:
        return _reports.ab_report(self.ctx, endpoint, alpha, mde)

    def shadow_report(self, endpoint: str) -> ShadowReport:
        return _reports.shadow_report(self.ctx, endpoint)


__all__ = ["LocalDelivery"]
