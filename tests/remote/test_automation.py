"""Automations behave the same embedded and against a server (through its routes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mainsail
from mainsail.client import _automation as auto
from mainsail.core._errors import AutomationNotFoundError, AutomationSpecError, InvalidValueError


def spec(name: str, **over: Any) -> dict[str, Any]:
    return {
        "name": name,
        "endpoint": f"ep-{name}",
        "model": "churn",
        "pipeline": "flows:retrain",
        "triggers": [{"type": "schedule", "cron": "0 3 * * 1"}],
        "checks": {"policy": {"label": "y", "metrics": {"accuracy": {"min": 0.6}}}},
        "cooldown": "6h",
        "require_approval": True,
        **over,
    }


def test_declare_inspect_switch(sdk_mode: str, unique: str) -> None:
    name = f"a-{unique}"
    made = auto.create_automation(spec(name))
    assert (made.name, made.endpoint, made.enabled) == (name, f"ep-{name}", True)
    assert made.spec.cooldown == 6 * 3600 and made.spec.require_approval
    assert auto.get_automation(name) == made
    assert name in [a.name for a in auto.list_automations()]
    off = auto.set_automation_enabled(name, False)
    assert off.enabled is False and auto.get_automation(name).enabled is False
    assert auto.set_automation_enabled(name, True).enabled is True
    # replacing the spec keeps the switch and the state
    auto.set_automation_enabled(name, False)
    again = auto.create_automation(spec(name, cooldown="1h"))
    assert (again.id, again.enabled, again.spec.cooldown) == (made.id, False, 3600)
    if sdk_mode == "remote":
        api = mainsail.get_context().remote
        assert api is not None
        events = api.json("GET", "/audit", params={"target": f"automations/{name}"})
        assert [e["action"] for e in events] == [
            "automations.put",
            "automations.disable",
            "automations.enable",
            "automations.disable",
            "automations.put",
        ][::-1]


def test_run_approve_and_the_trail(sdk_mode: str, unique: str) -> None:
    name = f"t-{unique}"
    auto.create_automation(spec(name))
    ran = auto.trigger_automation(name, reason="new data landed")
    approved = auto.approve_automation(name)
    trail = auto.automation_trail(name)
    assert [(e.id, e.trigger, e.status) for e in trail] == [
        (ran, "manual", "requested"),
        (approved, "approval", "requested"),
    ]
    assert trail[0].detail["reason"] == "new data landed"
    # against a server the actor is the authenticated caller, not a name the client sends
    assert trail[0].detail["actor"] == ("admin" if sdk_mode == "remote" else None)
    assert [e.id for e in auto.automation_trail(name, limit=1)] == [approved]  # the newest
    assert auto.trigger_automation(name) > approved


def test_bad_input_gets_the_same_error_in_both_modes(sdk_mode: str, unique: str) -> None:
    name = f"b-{unique}"
    with pytest.raises(AutomationNotFoundError, match=f"No automation named 'nope-{unique}'"):
        auto.get_automation(f"nope-{unique}")
    for call in (
        lambda: auto.trigger_automation(f"nope-{unique}"),
        lambda: auto.approve_automation(f"nope-{unique}"),
        lambda: auto.set_automation_enabled(f"nope-{unique}", True),
        lambda: auto.automation_trail(f"nope-{unique}"),
    ):
        with pytest.raises(AutomationNotFoundError):
            call()
    with pytest.raises(AutomationSpecError, match="Valid trigger types are"):
        auto.create_automation(spec(name, triggers=[{"type": "sometimes"}]))
    with pytest.raises(AutomationSpecError, match="module:attribute"):
        auto.create_automation(spec(name, pipeline="no-colon"))
    with pytest.raises(AutomationSpecError, match="It does not exist"):
        auto.create_automation(Path("missing.yaml"))
    auto.create_automation(spec(name))
    with pytest.raises(InvalidValueError, match="limit must be an integer in 1..10000"):
        auto.automation_trail(name, limit=0)


def test_cli(
    sdk_mode: str, unique: str, tmp_path: Path, cli: Callable[..., tuple[int, str, str]]
) -> None:
    name = f"c-{unique}"
    file = tmp_path / "auto.yaml"
    file.write_text(json.dumps(spec(name)))  # JSON is YAML
    code, out, err = cli("automation", "create", "-f", str(file))
    assert code == 0, err
    assert f"Automation {name} on endpoint ep-{name}" in out
    code, out, err = cli("automation", "run", name, "--reason", "by hand")
    assert code == 0, err
    code, out, err = cli("automation", "disable", name)
    assert (code, out.strip()) == (0, f"{name}: disabled")
    code, out, _ = cli("automation", "list", "--json")
    mine = [a for a in json.loads(out) if a["name"] == name]
    assert code == 0 and mine[0]["enabled"] is False
    code, out, _ = cli("automation", "show", name, "--json")
    shown = json.loads(out)
    assert [e["detail"]["reason"] for e in shown["events"]] == ["by hand"]
    code, _, err = cli("automation", "approve", f"nope-{unique}")
    assert code == 1 and "Unknown automation" in err
