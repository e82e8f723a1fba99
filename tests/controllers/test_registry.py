"""The controller plug-in contract: every registered controller, a third-party one run by
the manager, and bad plug-ins refused clearly."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from mainsail.controllers import (
    CONTROLLERS,
    ControllerManager,
    available_controllers,
    check_controller,
    register_controller,
)
from mainsail.core import InvalidValueError

THIRDPARTY = Path(__file__).resolve().parents[1] / "thirdparty"


@pytest.mark.parametrize("name", CONTROLLERS.names())
def test_every_registered_controller_keeps_the_contract(name: str, ctx: Any) -> None:
    controller = check_controller(CONTROLLERS.get(name)(ctx))
    assert controller.name == name
    controller.tick(int(time.time() * 1000))  # an empty store: nothing to do, no error


def test_a_third_party_controller_runs_in_the_leader(
    ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(THIRDPARTY))
    register_controller("heartbeat", "acme_delivery:Heartbeat")
    try:
        assert "heartbeat" in available_controllers()
        beats = Path(ctx.home) / "heartbeat.log"
        with ControllerManager(ctx, names=["heartbeat"], poll_s=0.02) as manager:
            deadline = time.monotonic() + 10
            while (not beats.exists() or len(beats.read_text().split()) < 3) and (
                time.monotonic() < deadline
            ):
                time.sleep(0.02)
            assert manager.is_leader
        assert len(beats.read_text().split()) >= 3
    finally:
        CONTROLLERS.unregister("heartbeat")


def test_unavailable_controllers_are_left_out() -> None:
    register_controller("missing", "mainsail.no_such_module:Thing")
    try:
        assert available_controllers(["rollouts", "missing", "unregistered"]) == ["rollouts"]
    finally:
        CONTROLLERS.unregister("missing")


class _NoTick:
    name = "idle"
    interval_s = 1.0


@pytest.mark.parametrize(
    ("controller", "match"),
    [
        (_NoTick(), r"_NoTick is not a controller: it needs a method 'tick\(now_ms\)'"),
        (type("Odd", (), {"name": "", "interval_s": 0, "tick": print})(), "non-empty str 'name'"),
        (type("Odd", (), {"name": "x", "interval_s": True, "tick": print})(), "'interval_s'"),
    ],
)
def test_check_controller_says_what_is_missing(controller: Any, match: str) -> None:
    with pytest.raises(InvalidValueError, match=match):
        check_controller(controller)


def test_a_factory_that_is_not_callable_is_refused(ctx: Any) -> None:
    CONTROLLERS.register("bad", "math:pi")
    try:
        with pytest.raises(InvalidValueError, match="Controller 'bad' must be a factory"):
            ControllerManager(ctx, names=["bad"]).controllers()
        with pytest.raises(InvalidValueError, match="Valid controllers are: automations, bad"):
            ControllerManager(ctx, names=["nope"]).controllers()
    finally:
        CONTROLLERS.unregister("bad")
