"""Policy parsing: YAML, dicts, shorthands, and clear errors for unknown names."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mainsail.checks import CheckPolicy, load_policy
from mainsail.core import InvalidValueError

EXAMPLES = Path(__file__).parents[2] / "examples" / "ci"


def test_yaml_file_text_and_dict_agree(tmp_path: Path) -> None:
    text = (
        "label: churned\nmetrics: {roc_auc: {min: 0.8}, log_loss: 0.5}\n"
        "baseline: {metric: roc_auc, margin: -0.01, test: bootstrap}\nsmoke: true\nschema: false\n"
    )
    f = tmp_path / "checks.yaml"
    f.write_text(text)
    from_file, from_text = load_policy(f), load_policy(text)
    assert from_file == from_text == load_policy(yaml.safe_load(text))
    assert from_file.label == "churned"
    assert (
        from_file.metrics["log_loss"].max == 0.5
    )  # a bare number is the bound in the good direction
    assert from_file.metrics["roc_auc"].min == 0.8
    assert from_file.configured() == ["metrics", "baseline", "smoke"]  # schema: false is off
    assert load_policy(from_file) is from_file
    assert load_policy(None).configured() == []
    assert isinstance(load_policy({}), CheckPolicy)


def test_round_trip_through_to_dict() -> None:
    p = load_policy({"label": "y", "slices": {"columns": ["plan"], "min": 0.7}, "schema": True})
    assert load_policy(p.to_dict()) == p
    assert p.to_dict()["schema"] == {}


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (
            {"metricz": {}},
            r"Unknown check\(s\) in the policy: 'metricz'. Valid checks are: baseline, budgets",
        ),
        (
            {"metrics": {"auc": {"min": 0.8}}},
            r"unknown metric 'auc'. Valid metrics are: accuracy, balanced_accuracy",
        ),
        (
            {"baseline": {"test": "t-test"}},
            r"baseline.test: Input should be 'bootstrap' or 'mcnemar'",
        ),
        (
            {"baseline": {"margins": 0.1}},
            r"baseline.margins: 'margins' is not a setting of 'baseline'. Valid settings are: metric, margin",
        ),
        ({"slices": {"min": 0.7}}, r"slices.columns: Field required"),
        (
            {"robustness": {"missing": 2}},
            r"robustness.missing: Input should be less than or equal to 1",
        ),
        ({"directional": [{"feature": "x", "expect": "up"}]}, r"directional.0.expect"),
        ([1, 2], r"Expected a policy as a YAML file path, a dict or a CheckPolicy"),
    ],
)
def test_bad_policies_say_what_is_valid(policy: object, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        load_policy(policy)  # type: ignore[arg-type]


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="Expected a policy file at"):
        load_policy(tmp_path / "nope.yaml")
    with pytest.raises(InvalidValueError, match="not valid YAML"):
        load_policy("metrics: {roc_auc: [")
    with pytest.raises(InvalidValueError, match="mapping of check names"):
        load_policy("- a\n- b\n")


def test_ci_example_is_consistent() -> None:
    policy = load_policy(EXAMPLES / "checks.yaml")
    assert set(policy.configured()) >= {"metrics", "baseline", "slices", "smoke", "schema"}
    workflow = yaml.safe_load((EXAMPLES / "release-checks.yml").read_text())
    steps = workflow["jobs"]["check"]["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "examples/ci/train_register_check.py" in runs
    assert (EXAMPLES / "train_register_check.py").is_file()
    assert any("github-script" in s.get("uses", "") for s in steps)
