"""A rollout row decoded: its strategy, spec and the two model versions it moves between."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mainsail.rollout._strategies import Strategy, get_strategy
from mainsail.rollout._types import Rollout, RolloutSpec, Variant


@dataclass
class Plan:
    """A rollout record with its strategy, spec, stable and target variants."""

    record: dict[str, Any]
    strategy: Strategy
    spec: RolloutSpec
    stable: Variant
    target: Variant

    @classmethod
    def of(cls, record: dict[str, Any]) -> Plan:
        doc = record["spec"]
        return cls(
            record,
            get_strategy(record["strategy"]),
            RolloutSpec(**doc.get("spec", {})),
            Variant(**doc["stable"]),
            Variant(**doc["target"]),
        )

    @property
    def endpoint(self) -> str:
        return str(self.record["endpoint"])

    def interval_ms(self, step: int) -> int:
        return int(self.strategy.interval_s(self.spec, step) * 1000)

    def weight(self) -> float:
        r = self.record
        steps = self.strategy.steps(self.spec)
        if r["state"] == "promoted":
            return 100.0
        if r["state"] in ("rolled_back", "aborted") or r["to_revision"] is None or not steps:
            return 0.0
        return float(steps[min(int(r["step"]), len(steps) - 1)])

    def revision_strategy(self, step: int) -> dict[str, Any]:
        """What a revision of this rollout records about it (the data plane reads the keys)."""
        s = self.spec
        return {
            "name": self.strategy.name,
            "rollout": self.record["id"],
            "step": step,
            "rollback_window": s.rollback_window,
            "key_header": s.key_header,
            "key_field": s.key_field,
            "sample": s.sample,
        }

    def payload(self, kind: str, **extra: Any) -> dict[str, Any]:
        """The JSON body of a webhook call."""
        r = self.record
        return {
            "name": self.endpoint,
            "rollout": r["id"],
            "strategy": self.strategy.name,
            "phase": kind,
            "step": r["step"],
            "weight": self.weight(),
            "metadata": {"stable": self.stable.address, "target": self.target.address},
            **extra,
        }


def to_rollout(record: dict[str, Any]) -> Rollout:
    """The public :class:`Rollout` of a stored record."""
    try:
        weight = Plan.of(record).weight()
    except Exception:  # noqa: BLE001 - a rollout row from a plugin no longer registered
        weight = 0.0
    return Rollout(
        id=record["id"],
        endpoint=record["endpoint"],
        strategy=record["strategy"],
        state=record["state"],
        step=record["step"],
        weight=weight,
        failed_checks=record["failed_checks"],
        analysis=list(record["analysis"] or []),
        message=record["message"],
        source=record["source"],
        spec=record["spec"],
        from_revision=record["from_revision"],
        to_revision=record["to_revision"],
        next_at=record["next_at"],
        created_at=record["created_at"],
        updated_at=record["updated_at"],
        finished_at=record.get("finished_at"),
    )


__all__ = ["Plan", "to_rollout"]
