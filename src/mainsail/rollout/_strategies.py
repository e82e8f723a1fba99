"""Rollout strategies: plug-ins behind one small protocol, registered by name.

A strategy says which variants the endpoint has at each step and with which roles, how long
a step lasts, which variant the analysis looks at (and against what), whether analysis or a
person moves it on, and what promotion (or an A/B winner) leaves behind. The controller runs
the state machine and knows no strategy by name: everything it needs is a hook here.

Built-ins (``direct``, ``canary``, ``blue_green``, ``ab``, ``shadow``) register like anyone
else's; third-party packages add theirs with :func:`register_strategy` or an entry point in
the ``mainsail.strategies`` group, and check them with :func:`check_strategy`.
"""

from __future__ import annotations

import re
from typing import Any, Protocol, runtime_checkable

from mainsail.core._errors import InvalidValueError
from mainsail.core._plugins import Registry
from mainsail.rollout._types import RolloutSpec, Variant


@runtime_checkable
class Strategy(Protocol):
    """How traffic moves from the stable variant to a target model version.

    Attributes
    ----------
    name : str
        What ``deploy(..., strategy=name)`` calls it.
    roles : tuple of str
        Every variant role its revisions use. The data plane answers with the ``stable``
        variant by default and only sends copies to ``shadow`` variants; any other role
        gets the traffic share of its weight.
    settled_roles : tuple of str
        Roles of a revision that is a steady state (a rollback without an active rollout
        returns to the newest revision whose variants all have such roles).
    automatic : bool
        ``True``: passing analyses advance it and promote it; ``False``: the controller only
        observes and a person promotes it.
    tolerate_inconclusive : bool
        ``True``: checks without enough data do not hold a step (never on a smoke step).

    A strategy may also define ``smoke_role(step) -> str | None`` (as :class:`BaseStrategy`
    does): the variant the controller sends smoke requests to at ``step``, from the target's
    reference sample. Such a step's analysis includes a ``smoke_requests`` check and an
    inconclusive analysis holds it.
    """

    @property
    def name(self) -> str: ...
    @property
    def roles(self) -> tuple[str, ...]: ...
    @property
    def settled_roles(self) -> tuple[str, ...]: ...
    @property
    def automatic(self) -> bool: ...
    @property
    def tolerate_inconclusive(self) -> bool: ...

    def steps(self, spec: RolloutSpec) -> list[float]:
        """The target's traffic weight at each step."""
        ...

    def variants(
        self, stable: Variant, target: Variant, spec: RolloutSpec, step: int
    ) -> list[Variant]:
        """The endpoint's variants at ``step``."""
        ...

    def final(self, stable: Variant, target: Variant, spec: RolloutSpec) -> list[Variant]:
        """The variants promotion leaves; raises when a person must choose (A/B)."""
        ...

    def arms(self, stable: Variant, target: Variant) -> dict[str, Variant]:
        """What a person may declare the winner (``{}``: no winner to declare)."""
        ...

    def analyzed(self, step: int) -> tuple[str, str | None]:
        """(variant analysed, baseline variant or None) at ``step``."""
        ...

    def interval_s(self, spec: RolloutSpec, step: int) -> float:
        """Seconds ``step`` lasts before its analysis decides."""
        ...

    def confirm_before(self, spec: RolloutSpec) -> int:
        """The step the confirm-promotion webhook gates (``len(steps)``: promotion itself)."""
        ...


def variant(base: Variant, name: str, weight: float, role: str) -> Variant:
    """``base``'s model version as the variant ``name`` with ``weight`` and ``role``."""
    return Variant(name=name, model=base.model, version=base.version, weight=weight, role=role)


class BaseStrategy:
    """Defaults for a strategy: a plug-in subclasses it and overrides what differs.

    The defaults promote the target to a single stable variant, analyse nothing against a
    baseline, have no A/B arms, and take ``spec.interval`` seconds per step.
    """

    name: str = ""
    roles: tuple[str, ...] = ("stable",)
    settled_roles: tuple[str, ...] = ("stable",)
    automatic = True
    tolerate_inconclusive = False

    def steps(self, spec: RolloutSpec) -> list[float]:
        raise NotImplementedError

    def variants(
        self, stable: Variant, target: Variant, spec: RolloutSpec, step: int
    ) -> list[Variant]:
        raise NotImplementedError

    def final(self, stable: Variant, target: Variant, spec: RolloutSpec) -> list[Variant]:
        return [variant(target, "stable", 100, "stable")]

    def arms(self, stable: Variant, target: Variant) -> dict[str, Variant]:
        return {}

    def analyzed(self, step: int) -> tuple[str, str | None]:
        return "stable", None

    def interval_s(self, spec: RolloutSpec, step: int) -> float:
        return float(spec.interval)

    def confirm_before(self, spec: RolloutSpec) -> int:
        return len(self.steps(spec))

    def smoke_role(self, step: int) -> str | None:
        """The variant that gets smoke requests at ``step`` (``None``: no smoke requests)."""
        return None


class Direct(BaseStrategy):
    """All traffic to the target at once."""

    name = "direct"
    tolerate_inconclusive = True

    def steps(self, spec: RolloutSpec) -> list[float]:
        return []

    def variants(
        self, stable: Variant, target: Variant, spec: RolloutSpec, step: int
    ) -> list[Variant]:
        return self.final(stable, target, spec)

    def confirm_before(self, spec: RolloutSpec) -> int:
        return 0


class Canary(BaseStrategy):
    """Flagger-style step weights; each step's analysis compares the canary with stable."""

    name = "canary"
    roles = ("stable", "canary")

    def steps(self, spec: RolloutSpec) -> list[float]:
        return spec.canary_weights()

    def variants(
        self, stable: Variant, target: Variant, spec: RolloutSpec, step: int
    ) -> list[Variant]:
        w = self.steps(spec)[step]
        return [
            variant(stable, "stable", 100 - w, "stable"),
            variant(target, "canary", w, "canary"),
        ]

    def analyzed(self, step: int) -> tuple[str, str | None]:
        return "canary", "stable"


class BlueGreen(BaseStrategy):
    """Step 0: the target loads as a 0 % preview (header-reachable); the controller sends it
    smoke requests and the pre-promotion analysis must pass (inconclusive holds it).
    Step 1: the atomic switch; post-promotion analysis while the old one stays warm."""

    name = "blue_green"
    roles = ("stable", "preview")
    tolerate_inconclusive = True

    def steps(self, spec: RolloutSpec) -> list[float]:
        return [0.0, 100.0]

    def variants(
        self, stable: Variant, target: Variant, spec: RolloutSpec, step: int
    ) -> list[Variant]:
        if step == 0:
            return [
                variant(stable, "stable", 100, "stable"),
                variant(target, "preview", 0, "preview"),
            ]
        return [variant(target, "stable", 100, "stable")]

    def analyzed(self, step: int) -> tuple[str, str | None]:
        return ("preview", "stable") if step == 0 else ("stable", None)

    def smoke_role(self, step: int) -> str | None:
        return "preview" if step == 0 else None

    def interval_s(self, spec: RolloutSpec, step: int) -> float:
        if step == 1 and spec.post_promotion_interval:
            return float(spec.post_promotion_interval)
        return float(spec.interval)

    def confirm_before(self, spec: RolloutSpec) -> int:
        return 1


class AB(BaseStrategy):
    """Fixed weights between arm ``a`` (the current stable) and arm ``b``; sticky by key.

    A person ends it by declaring a winner; plain promotion is refused.
    """

    name = "ab"
    roles = ("arm",)
    settled_roles = ("arm",)
    automatic = False
    tolerate_inconclusive = True

    def steps(self, spec: RolloutSpec) -> list[float]:
        w = spec.weights or [50.0, 50.0]
        return [100 * w[1] / (w[0] + w[1])]

    def variants(
        self, stable: Variant, target: Variant, spec: RolloutSpec, step: int
    ) -> list[Variant]:
        wb = self.steps(spec)[0]
        return [variant(stable, "a", 100 - wb, "arm"), variant(target, "b", wb, "arm")]

    def final(self, stable: Variant, target: Variant, spec: RolloutSpec) -> list[Variant]:
        raise InvalidValueError(
            "An A/B test ends with an explicit winner: mainsail.declare_winner(endpoint, 'a' | 'b')"
            " or mainsail rollout promote ENDPOINT --winner b."
        )

    def arms(self, stable: Variant, target: Variant) -> dict[str, Variant]:
        return {"a": stable, "b": target}

    def analyzed(self, step: int) -> tuple[str, str | None]:
        return "b", "a"

    def confirm_before(self, spec: RolloutSpec) -> int:
        return 1


class Shadow(BaseStrategy):
    """The target gets copies (or a sampled share) of the requests; clients see stable only."""

    name = "shadow"
    roles = ("stable", "shadow")
    automatic = False
    tolerate_inconclusive = True

    def steps(self, spec: RolloutSpec) -> list[float]:
        return [0.0]

    def variants(
        self, stable: Variant, target: Variant, spec: RolloutSpec, step: int
    ) -> list[Variant]:
        return [variant(stable, "stable", 100, "stable"), variant(target, "shadow", 0, "shadow")]

    def analyzed(self, step: int) -> tuple[str, str | None]:
        return "shadow", "stable"

    def confirm_before(self, spec: RolloutSpec) -> int:
        return 1


_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_MEMBERS = ("steps", "variants", "final", "arms", "analyzed", "interval_s", "confirm_before")


def check_strategy(strategy: Any, spec: RolloutSpec | None = None) -> Strategy:
    """Check that ``strategy`` keeps the :class:`Strategy` contract; returns it.

    Besides its members, this walks every step with ``spec`` (default: a default
    :class:`RolloutSpec`): each step's variants use only the declared roles, have unique
    names, weights in [0, 100] that add up to 100 over the variants that answer clients,
    and the analysed variants exist at their step.

    Raises
    ------
    InvalidValueError
        Saying what is wrong, and what the protocol expects.

    Examples
    --------
    >>> check_strategy(Canary()).name
    'canary'
    """
    kind = type(strategy).__name__
    problems: list[str] = []
    name = getattr(strategy, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(f"'name' must be a lower-case identifier like 'staged' (found {name!r})")
    for attr in ("roles", "settled_roles"):
        roles = getattr(strategy, attr, None)
        if (
            not isinstance(roles, tuple)
            or not roles
            or not all(isinstance(r, str) and _NAME.match(r) for r in roles)
        ):
            problems.append(f"{attr!r} must be a non-empty tuple of role names (found {roles!r})")
    for attr in ("automatic", "tolerate_inconclusive"):
        if not isinstance(getattr(strategy, attr, None), bool):
            problems.append(f"{attr!r} must be a bool (found {getattr(strategy, attr, None)!r})")
    missing = [m for m in _MEMBERS if not callable(getattr(strategy, m, None))]
    if missing:
        problems.append("it needs the methods " + ", ".join(missing))
    if problems:
        raise InvalidValueError(
            f"Strategy {kind} breaks the Strategy protocol: " + "; ".join(problems) + "."
        )
    _walk(strategy, spec or RolloutSpec())
    return strategy  # type: ignore[no-any-return]


def _walk(s: Any, spec: RolloutSpec) -> None:
    stable = Variant(name="stable", model="contract", version=1)
    target = Variant(name="stable", model="contract", version=2)
    roles = set(s.roles) | {"stable"}  # promotion always lands on a stable variant

    def fail(what: str) -> InvalidValueError:
        return InvalidValueError(f"Strategy {s.name!r} {what}.")

    steps = s.steps(spec)
    if not isinstance(steps, list) or any(
        isinstance(w, bool) or not isinstance(w, int | float) or not 0 <= w <= 100 for w in steps
    ):
        raise fail(f"must give its steps as a list of weights in [0, 100] (got {steps!r})")
    for step in range(len(steps)):
        _check_variants(s, s.variants(stable, target, spec, step), roles, f"step {step}", fail)
        analysed, baseline = s.analyzed(step)
        names = {v.name for v in s.variants(stable, target, spec, step)}
        if analysed not in names or (baseline is not None and baseline not in names):
            raise fail(
                f"analyses {analysed!r} against {baseline!r} at step {step}, but its variants "
                f"there are {sorted(names)}"
            )
        interval = s.interval_s(spec, step)
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
            raise fail(f"must last a positive number of seconds per step (got {interval!r})")
    arms = s.arms(stable, target)
    if not isinstance(arms, dict) or not all(isinstance(v, Variant) for v in arms.values()):
        raise fail(f"must name its arms as a dict of Variants (got {arms!r})")
    if not arms:
        _check_variants(s, s.final(stable, target, spec), roles, "promotion", fail)
    confirm = s.confirm_before(spec)
    if isinstance(confirm, bool) or not isinstance(confirm, int) or not 0 <= confirm <= len(steps):
        raise fail(f"must gate confirmation at a step from 0 to {len(steps)} (got {confirm!r})")


def _check_variants(s: Any, found: Any, roles: set[str], where: str, fail: Any) -> None:
    if not isinstance(found, list) or not found or not all(isinstance(v, Variant) for v in found):
        raise fail(f"must give a non-empty list of Variants at {where} (got {found!r})")
    unknown = sorted({v.role for v in found} - roles)
    if unknown:
        raise fail(
            f"uses roles {unknown} at {where} that it does not declare; declared roles: "
            f"{sorted(roles)}"
        )
    if len({v.name for v in found}) != len(found):
        raise fail(f"repeats a variant name at {where}: {[v.name for v in found]}")
    serving = [v.weight for v in found if v.role != "shadow"]
    if not serving or abs(sum(serving) - 100) > 1e-6:
        raise fail(
            f"must give the variants that answer clients weights adding up to 100 at {where} "
            f"(got {serving})"
        )


def _validate(name: str, strategy: Any) -> None:
    check_strategy(strategy)
    if strategy.name != name:
        raise InvalidValueError(
            f"Strategy registered as {name!r} calls itself {strategy.name!r}; register it "
            "under its own name."
        )


STRATEGIES: Registry[Strategy] = Registry(
    "strategy", group="mainsail.strategies", validate=_validate, plural="strategies"
)
_BUILTINS: list[Strategy] = [Direct(), Canary(), BlueGreen(), AB(), Shadow()]
for _builtin in _BUILTINS:
    STRATEGIES.register(_builtin.name, _builtin)
_ALIASES = {"bluegreen": "blue_green", "a/b": "ab", "a_b": "ab"}


def register_strategy(strategy: Strategy | str, name: str | None = None) -> None:
    """Add a strategy: an object with the :class:`Strategy` members, or its
    ``"module:attr"`` (then give ``name``). It is checked with :func:`check_strategy` when
    first used.

    Examples
    --------
    >>> register_strategy("acme.delivery:STAGED", name="staged")  # doctest: +SKIP
    """
    if isinstance(strategy, str):
        if name is None:
            raise InvalidValueError(
                f"register_strategy({strategy!r}) needs the strategy's name too: "
                f"register_strategy({strategy!r}, name='...')."
            )
        STRATEGIES.register(name, strategy)
        return
    check_strategy(strategy)
    STRATEGIES.register(name or strategy.name, strategy)


def normalize_strategy(name: str) -> str:
    """The registered name ``name`` means (``Blue-Green`` -> ``blue_green``), or a clear error."""
    if not isinstance(name, str):
        raise STRATEGIES.unknown(name)
    key = name.lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in STRATEGIES:
        raise STRATEGIES.unknown(name)
    return key


def get_strategy(name: str) -> Strategy:
    """The strategy registered as ``name`` (aliases like ``blue-green`` accepted)."""
    return STRATEGIES.get(normalize_strategy(name))


__all__ = [
    "AB",
    "STRATEGIES",
    "BaseStrategy",
    "BlueGreen",
    "Canary",
    "Direct",
    "Shadow",
    "Strategy",
    "check_strategy",
    "get_strategy",
    "normalize_strategy",
    "register_strategy",
    "variant",
]
