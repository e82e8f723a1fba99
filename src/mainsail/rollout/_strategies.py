"""Rollout strategies behind one small protocol, registered by name.

A strategy says which variants the endpoint has at each step, which variant the
analysis looks at (and against what), and what promotion leaves behind. The controller
runs the state machine; the strategy only shapes traffic.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mainsail.core._errors import InvalidValueError
from mainsail.rollout._types import RolloutSpec, Variant


@runtime_checkable
class Strategy(Protocol):
    """How traffic moves from the stable variant to a target model version."""

    name: str
    automatic: bool  # analysis drives it to promotion; otherwise a person decides
    tolerate_inconclusive: bool  # inconclusive checks do not hold the step

    def steps(self, spec: RolloutSpec) -> list[float]:
        """The target's traffic weight at each step."""
        ...

    def variants(
        self, stable: Variant, target: Variant, spec: RolloutSpec, step: int
    ) -> list[Variant]: ...

    def final(self, stable: Variant, target: Variant, spec: RolloutSpec) -> list[Variant]: ...

    def analyzed(self, step: int) -> tuple[str, str | None]:
        """(variant analysed, baseline variant or None) at ``step``."""
        ...

    def confirm_before(self, spec: RolloutSpec) -> int:
        """The step the confirm-promotion webhook gates (``len(steps)``: promotion itself)."""
        ...


def _v(base: Variant, name: str, weight: float, role: str) -> Variant:
    return Variant(name=name, model=base.model, version=base.version, weight=weight, role=role)  # type: ignore[arg-type]


class Canary:
    name = "canary"
    automatic = True
    tolerate_inconclusive = False

    def steps(self, spec: RolloutSpec) -> list[float]:
        return spec.canary_weights()

    def variants(
        self, stable: Variant, target: Variant, spec: RolloutSpec, step: int
    ) -> list[Variant]:
        w = self.steps(spec)[step]
        return [_v(stable, "stable", 100 - w, "stable"), _v(target, "canary", w, "canary")]

    def final(self, stable: Variant, target: Variant, spec: RolloutSpec) -> list[Variant]:
        return [_v(target, "stable", 100, "stable")]

    def analyzed(self, step: int) -> tuple[str, str | None]:
        return "canary", "stable"

    def confirm_before(self, spec: RolloutSpec) -> int:
        return len(self.steps(spec))


class BlueGreen:
    """Step 0: the target loads as a 0 % preview (header-reachable); pre-promotion analysis.
    Step 1: the atomic switch; post-promotion analysis while the old one stays warm."""

    name = "blue_green"
    automatic = True
    tolerate_inconclusive = True

    def steps(self, spec: RolloutSpec) -> list[float]:
        return [0.0, 100.0]

    def variants(
        self, stable: Variant, target: Variant, spec: RolloutSpec, step: int
    ) -> list[Variant]:
        if step == 0:
            return [_v(stable, "stable", 100, "stable"), _v(target, "preview", 0, "preview")]
        return [_v(target, "stable", 100, "stable")]

    def final(self, stable: Variant, target: Variant, spec: RolloutSpec) -> list[Variant]:
        return [_v(target, "stable", 100, "stable")]

    def analyzed(self, step: int) -> tuple[str, str | None]:
        return ("preview", "stable") if step == 0 else ("stable", None)

    def confirm_before(self, spec: RolloutSpec) -> int:
        return 1


class AB:
    """Fixed weights between arm ``a`` (the current stable) and arm ``b``; sticky by key."""

    name = "ab"
    automatic = False
    tolerate_inconclusive = True

    def steps(self, spec: RolloutSpec) -> list[float]:
        w = spec.weights or [50.0, 50.0]
        return [100 * w[1] / (w[0] + w[1])]

    def variants(
        self, stable: Variant, target: Variant, spec: RolloutSpec, step: int
    ) -> list[Variant]:
        wb = self.steps(spec)[0]
        return [_v(stable, "a", 100 - wb, "arm"), _v(target, "b", wb, "arm")]

    def final(self, stable: Variant, target: Variant, spec: RolloutSpec) -> list[Variant]:
        raise InvalidValueError(
            "An A/B test ends with an explicit winner: mainsail.declare_winner(endpoint, 'a' | 'b')"
            " or mainsail rollout promote ENDPOINT --winner b."
        )

    def analyzed(self, step: int) -> tuple[str, str | None]:
        return "b", "a"

    def confirm_before(self, spec: RolloutSpec) -> int:
        return 1


class Shadow:
    """The target gets copies (or a sampled share) of the requests; clients see stable only."""

    name = "shadow"
    automatic = False
    tolerate_inconclusive = True

    def steps(self, spec: RolloutSpec) -> list[float]:
        return [0.0]

    def variants(
        self, stable: Variant, target: Variant, spec: RolloutSpec, step: int
    ) -> list[Variant]:
        return [_v(stable, "stable", 100, "stable"), _v(target, "shadow", 0, "shadow")]

    def final(self, stable: Variant, target: Variant, spec: RolloutSpec) -> list[Variant]:
        return [_v(target, "stable", 100, "stable")]

    def analyzed(self, step: int) -> tuple[str, str | None]:
        return "shadow", "stable"

    def confirm_before(self, spec: RolloutSpec) -> int:
        return 1


class Direct:
    name = "direct"
    automatic = True
    tolerate_inconclusive = True

    def steps(self, spec: RolloutSpec) -> list[float]:
        return []

    def variants(
        self, stable: Variant, target: Variant, spec: RolloutSpec, step: int
    ) -> list[Variant]:
        return self.final(stable, target, spec)

    def final(self, stable: Variant, target: Variant, spec: RolloutSpec) -> list[Variant]:
        return [_v(target, "stable", 100, "stable")]

    def analyzed(self, step: int) -> tuple[str, str | None]:
        return "stable", None

    def confirm_before(self, spec: RolloutSpec) -> int:
        return 0


STRATEGIES: dict[str, Strategy] = {
    s.name: s for s in (Direct(), Canary(), BlueGreen(), AB(), Shadow())
}
_ALIASES = {"blue-green": "blue_green", "bluegreen": "blue_green", "a/b": "ab", "a-b": "ab"}


def register_strategy(strategy: Strategy) -> None:
    """Add a strategy (any object with the :class:`Strategy` members) under its name."""
    STRATEGIES[strategy.name] = strategy


def normalize_strategy(name: str) -> str:
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in STRATEGIES:
        raise InvalidValueError(
            f"Unknown strategy {name!r}. Valid strategies are: "
            + ", ".join(s.replace("_", "-") for s in STRATEGIES)
            + "."
        )
    return key


def get_strategy(name: str) -> Strategy:
    return STRATEGIES[normalize_strategy(name)]
