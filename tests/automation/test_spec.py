"""Automation specs: parsing, durations, and clear errors for bad specs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mainsail.automation import parse_duration, parse_spec
from mainsail.core import MainsailError

BASE = {
    "name": "churn-retrain",
    "endpoint": "churn",
    "model": "churn",
    "pipeline": "flows:retrain",
    "triggers": [{"type": "drift_alert"}],
}


def test_minimal_spec_gets_safe_defaults() -> None:
    spec = parse_spec(BASE)
    assert spec.cooldown == 3600.0
    assert spec.rollout.strategy == "canary"
    assert spec.checks.baseline == "@champion"
    assert spec.require_approval is False


def test_yaml_file_with_every_trigger(tmp_path: Path) -> None:
    f = tmp_path / "a.yaml"
    f.write_text(
        """
name: churn-retrain
endpoint: churn
model: churn
pipeline: flows:retrain
triggers:
  - {type: drift_alert, min_severity: critical}
  - {type: performance, metric: performance.accuracy, below: 0.8}
  - {type: new_data, dataset: churn-train, min_new_rows: 500}
  - {type: schedule, cron: "0 3 * * 1"}
cooldown: 6h
settle: 90s
"""
    )
    spec = parse_spec(f)
    assert [t.type for t in spec.triggers] == ["drift_alert", "performance", "new_data", "schedule"]
    assert spec.cooldown == 6 * 3600 and spec.settle == 90


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"triggers": [{"type": "weather"}]}, "Valid trigger types are: drift_alert"),
        ({"triggers": []}, "triggers"),
        ({"triggers": [{"type": "schedule", "cron": "every day"}]}, "five-field cron"),
        ({"cooldown": "soon"}, "Expected a duration"),
        ({"pipeline": "flows.retrain"}, "module:attribute"),
        ({"colldown": "1h"}, "Valid top-level fields are"),
        ({"triggers": [{"type": "performance"}]}, "below"),
    ],
)
def test_bad_specs_say_what_is_wrong(patch: dict, message: str) -> None:
    with pytest.raises(MainsailError, match=message):
        parse_spec({**BASE, **patch})


def test_missing_and_non_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(MainsailError, match="does not exist"):
        parse_spec(tmp_path / "nope.yaml")
    f = tmp_path / "list.yaml"
    f.write_text("- a\n- b\n")
    with pytest.raises(MainsailError, match="Expected a mapping"):
        parse_spec(f)


@given(st.floats(min_value=0, max_value=1e6), st.sampled_from(["s", "m", "h", "d"]))
def test_durations_scale_by_unit(value: float, unit: str) -> None:
    factor = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    seconds = parse_duration(f"{value:.3f}{unit}", allow_zero=True)
    assert seconds == pytest.approx(float(f"{value:.3f}") * factor)


@pytest.mark.parametrize("bad", ["", "5 minutes", "-3s", True, -1])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(MainsailError, match="duration"):
        parse_duration(bad)


def test_the_shipped_example_is_valid() -> None:
    example = Path(__file__).parents[2] / "examples" / "automation" / "churn-retrain.yaml"
    spec = parse_spec(example)
    assert spec.rollout.strategy == "canary" and spec.cooldown == 6 * 3600


def test_create_checks_the_datasets_and_the_pipeline_it_names(
    ctx: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    import mainsail
    from mainsail.core._errors import AutomationSpecError

    folder = Path(__file__).parents[2] / "examples" / "automation"
    monkeypatch.chdir(folder)  # where the shipped example's pipeline (flows.py) imports
    with pytest.raises(AutomationSpecError, match=r"'churn-live' \(params.dataset\). Known "
                       "datasets: none yet"):  # fmt: skip
        mainsail.create_automation(folder / "churn-retrain.yaml")
    mainsail.log_dataset(pd.DataFrame({"age": [1, 2], "churned": [0, 1]}), name="churn-live")
    created = mainsail.create_automation(folder / "churn-retrain.yaml")  # the example creates
    assert created.spec.pipeline == "flows:retrain"
    spec = parse_spec(folder / "churn-retrain.yaml").model_dump(mode="json")
    with pytest.raises(AutomationSpecError, match="Expected a Python file at .*flowz.py"):
        mainsail.create_automation({**spec, "pipeline": "flowz.py:retrain"})
    with pytest.raises(AutomationSpecError, match="Pipelines in that module: retrain"):
        mainsail.create_automation({**spec, "pipeline": "flows:retrian"})
