"""Trigger types are plug-ins: the contract every registered one keeps, clear errors for a bad
one, and a third party's trigger (tests/thirdparty) that starts a real retraining."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest

import mainsail
import mainsail.jobs as jobs
from mainsail.automation import (
    TRIGGERS,
    AutomationController,
    Firing,
    Trigger,
    check_trigger,
    parse_spec,
    register_trigger,
)
from mainsail.core import InvalidValueError, MainsailError
from mainsail.core._ids import now_ms

from .conftest import POLICY

THIRDPARTY = Path(__file__).parents[1] / "thirdparty"

#: Options each built-in trigger type is built with in the contract run.
OPTIONS: dict[str, dict[str, Any]] = {
    "drift_alert": {},
    "performance": {"below": 0.8},
    "new_data": {"dataset": "nothing-yet"},
    "schedule": {"cron": "0 3 * * 1"},
}
AUTO: dict[str, Any] = {"id": 1, "name": "a", "endpoint": "churn", "created_at": now_ms()}


@pytest.mark.parametrize("name", TRIGGERS.names())
def test_every_trigger_type_keeps_the_contract(name: str, ctx: Any) -> None:
    cls = check_trigger(TRIGGERS.get(name))
    assert cls.model_fields["type"].default == name
    doc = {"type": name, **OPTIONS.get(name, {})}
    spec = parse_spec(
        {"name": "a", "endpoint": "churn", "model": "m", "pipeline": "x:y", "triggers": [doc]}
    )
    (trig,) = spec.triggers
    assert isinstance(trig, cls)
    # the spec round-trips through JSON (how it is stored and sent) to the same trigger
    again = parse_spec(spec.model_dump(mode="json")).triggers[0]
    assert type(again) is cls and again == trig
    # on a store with nothing in it, a trigger answers (no firing, or a baseline mark)
    state: dict[str, Any] = {}
    firing = trig.evaluate(ctx, AUTO, state, now_ms(), 0)
    assert firing is None or (isinstance(firing, Firing) and firing.type == name)
    assert state == {}  # evaluate reads the state; the controller applies the patches


def test_check_trigger_and_register_trigger_say_what_is_wrong() -> None:
    class NoEvaluate(Trigger):
        type: Literal["lazy"] = "lazy"

    class NoDefault(Trigger):
        def evaluate(self, *args: Any) -> Firing | None:
            return None

    for bad, message in (
        (dict, "must be a subclass of mainsail.automation.Trigger"),
        (NoEvaluate, "does not implement evaluate"),
        (NoDefault, "needs a default 'type'"),
    ):
        with pytest.raises(InvalidValueError, match=message):
            check_trigger(bad)
        with pytest.raises(InvalidValueError, match=message):
            register_trigger(bad)
    assert "lazy" not in TRIGGERS
    with pytest.raises(InvalidValueError, match="needs its name"):
        register_trigger("acme_plugins:FileDropTrigger")
    with pytest.raises(MainsailError, match="Unknown trigger type 'sometimes'. Valid trigger"):
        parse_spec(
            {
                "name": "a",
                "endpoint": "e",
                "model": "m",
                "pipeline": "x:y",
                "triggers": [{"type": "sometimes"}],
            }
        )


def test_a_broken_lazy_registration_is_a_clear_spec_error(monkeypatch: Any) -> None:
    monkeypatch.syspath_prepend(str(THIRDPARTY))
    register_trigger("acme_plugins:MedianShift", name="not_a_trigger")  # a drift test
    try:
        with pytest.raises(
            MainsailError,
            match="triggers.0.type: A trigger type must be a subclass.*Got MedianShift",
        ):
            parse_spec(
                {
                    "name": "a",
                    "endpoint": "e",
                    "model": "m",
                    "pipeline": "x:y",
                    "triggers": [{"type": "not_a_trigger"}],
                }
            )
    finally:
        TRIGGERS.unregister("not_a_trigger")


def test_a_third_party_trigger_starts_a_retraining(
    world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(THIRDPARTY))
    register_trigger("acme_plugins:FileDropTrigger", name="acme_file_drop")
    try:
        marker = tmp_path / "ready"
        mainsail.create_automation(
            {
                "name": "on-drop",
                "endpoint": "churn",
                "model": "churn",
                "pipeline": "auto_flows:retrain",
                "triggers": [{"type": "acme_file_drop", "path": str(marker)}],
                "checks": {"policy": POLICY},
                "rollout": {"strategy": "direct"},
                "max_attempts": 1,
            }
        )
        controller = AutomationController(world)
        controller.tick(now_ms())
        assert mainsail.automation_trail("on-drop") == []  # nothing dropped yet
        marker.write_text("labels for March are in\n")
        controller.tick(now_ms())
        jobs.Worker(mainsail.get_context(), poll_s=0.05).run(until_idle=True)
        controller.tick(now_ms())
        trail = mainsail.automation_trail("on-drop")
        assert [e.status for e in trail] == [
            "triggered",
            "pipeline_started",
            "registered",
            "checked",
            "rollout_started",
            "promoted",
        ]
        assert {e.trigger for e in trail} == {"acme_file_drop"}
        assert trail[0].detail["summary"] == "ready landed: labels for March are in"
        assert mainsail.get_model_version("models:/churn@champion").version == 2
        controller.tick(now_ms())  # the same file never fires twice
        assert len(mainsail.automation_trail("on-drop")) == len(trail)
    finally:
        TRIGGERS.unregister("acme_file_drop")
