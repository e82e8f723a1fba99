"""The strategy plug-in contract: every registered strategy, and bad plug-ins refused clearly."""

from __future__ import annotations

from typing import Any

import pytest

from mainsail.core._errors import InvalidValueError
from mainsail.rollout import (
    STRATEGIES,
    BaseStrategy,
    RolloutSpec,
    Variant,
    check_strategy,
    get_strategy,
    register_strategy,
    variant,
)
from mainsail.rollout._strategies import normalize_strategy
from mainsail.serving._router import Route, Router

SPECS = [RolloutSpec(), RolloutSpec(steps=[5, 25, 50, 100]), RolloutSpec(weights=[80, 20])]
STABLE = Variant(name="stable", model="m", version=1)
TARGET = Variant(name="stable", model="m", version=2)


@pytest.mark.parametrize("name", STRATEGIES.names())
@pytest.mark.parametrize("spec", SPECS, ids=["default", "steps", "weights"])
def test_every_registered_strategy_keeps_the_contract(name: str, spec: RolloutSpec) -> None:
    strategy = STRATEGIES.get(name)
    assert check_strategy(strategy, spec) is strategy
    assert strategy.name == name and "stable" in {*strategy.roles, "stable"}
    for step in range(len(strategy.steps(spec))):
        variants = strategy.variants(STABLE, TARGET, spec, step)
        # the data plane can route every step: a router builds and answers with a variant
        router = Router([Route(v.name, v, v.weight, v.role) for v in variants])
        assert router.pick().role != "shadow"
        assert strategy.interval_s(spec, step) > 0
    if strategy.arms(STABLE, TARGET):
        with pytest.raises(InvalidValueError, match="winner"):
            strategy.final(STABLE, TARGET, spec)
    else:
        assert [v.role for v in strategy.final(STABLE, TARGET, spec)] == ["stable"]


def test_names_are_normalised_and_unknown_ones_listed() -> None:
    assert normalize_strategy("Blue-Green") == "blue_green"
    assert normalize_strategy("A/B") == "ab"
    assert get_strategy("canary").name == "canary"
    with pytest.raises(
        InvalidValueError,
        match=r"Unknown strategy 'linear'\. Valid strategies are: ab, blue_green, canary, "
        r"direct, shadow",
    ):
        normalize_strategy("linear")
    with pytest.raises(InvalidValueError, match="Unknown strategy 3"):
        normalize_strategy(3)  # type: ignore[arg-type]


class _Good(BaseStrategy):
    name = "good"
    roles = ("stable", "trial")

    def steps(self, spec: RolloutSpec) -> list[float]:
        return [30.0]

    def variants(self, stable: Variant, target: Variant, spec: RolloutSpec, step: int) -> Any:
        return [variant(stable, "stable", 70, "stable"), variant(target, "trial", 30, "trial")]

    def analyzed(self, step: int) -> tuple[str, str | None]:
        return "trial", "stable"


class _UndeclaredRole(_Good):
    roles = ("stable",)


class _BadWeights(_Good):
    def variants(self, stable: Variant, target: Variant, spec: RolloutSpec, step: int) -> Any:
        return [variant(stable, "stable", 70, "stable"), variant(target, "trial", 10, "trial")]


class _AnalysesNothingThere(_Good):
    def analyzed(self, step: int) -> tuple[str, str | None]:
        return "canary", "stable"


class _NoMethods:
    name = "bare"
    roles = ("stable",)
    settled_roles = ("stable",)
    automatic = True
    tolerate_inconclusive = False


@pytest.mark.parametrize(
    ("strategy", "match"),
    [
        (_UndeclaredRole(), r"uses roles \['trial'\] at step 0 that it does not declare"),
        (_BadWeights(), r"weights adding up to 100 at step 0 \(got \[70\.0, 10\.0\]\)"),
        (_AnalysesNothingThere(), r"analyses 'canary' against 'stable' at step 0"),
        (_NoMethods(), r"it needs the methods steps, variants, final, arms, analyzed"),
        (type("Nameless", (_Good,), {"name": "Not OK"})(), r"'name' must be a lower-case"),
    ],
    ids=["undeclared-role", "weights", "analysed-variant", "no-methods", "name"],
)
def test_check_strategy_says_what_is_wrong(strategy: Any, match: str) -> None:
    with pytest.raises(InvalidValueError, match=match):
        check_strategy(strategy)


def test_registering_checks_the_plug_in_and_its_name() -> None:
    with pytest.raises(InvalidValueError, match="weights adding up to 100"):
        register_strategy(_BadWeights())
    assert "good" not in STRATEGIES
    with pytest.raises(InvalidValueError, match="needs the strategy's name"):
        register_strategy("somewhere:THING")
    STRATEGIES.register("other", _Good())  # registered under a name it does not call itself
    try:
        with pytest.raises(InvalidValueError, match="registered as 'other' calls itself 'good'"):
            get_strategy("other")
    finally:
        STRATEGIES.unregister("other")
    register_strategy(_Good())
    try:
        assert get_strategy("good").roles == ("stable", "trial")
    finally:
        STRATEGIES.unregister("good")


def test_the_old_analysis_check_name_still_works_with_a_warning() -> None:
    import mainsail.rollout as rollout
    from mainsail.rollout import AnalysisCheck

    with pytest.warns(DeprecationWarning, match="AnalysisCheck"):
        old = rollout.CheckResult
    assert old is AnalysisCheck
