"""Release checks are plug-ins: the contract every registered check meets, and a third-party
check (tests/thirdparty/acme_gate.py) used end to end without touching Mainsail's code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mainsail
from mainsail.checks import (
    CHECKS,
    CheckPolicy,
    check_check,
    load_policy,
    register_check,
    unregister_check,
)
from mainsail.checks._registry import check_spec
from mainsail.core import InvalidValueError

THIRDPARTY = Path(__file__).parents[1] / "thirdparty"
SRC = Path(mainsail.__file__).parents[1]

# A section that switches each built-in check on and lets it pass on the churn fixture; a
# check a package registers brings its own (see test_a_third_party_check_*).
EXAMPLES: dict[str, Any] = {
    "metrics": {"accuracy": 0.5},
    "baseline": {"metric": "accuracy", "margin": -1.0, "n_boot": 100},
    "slices": {"columns": ["plan"], "metric": "accuracy", "min": 0.0},
    "robustness": {"metric": "accuracy", "max_drop": 1.0},
    "invariance": [{"feature": "age", "max_change_rate": 1.0}],
    "directional": [
        {
            "feature": "income",
            "direction": "increase",
            "expect": "non_decreasing",
            "max_violation_rate": 1.0,
        }
    ],
    "budgets": {"size_mb": 1000},
    "schema": True,
    "skew": {"max_drift_share": 1.0},
    "smoke": {"rows": 2, "timeout_s": 90},
    "capacity": {"p99_ms": 50, "min_rps": 100},
    "explanations": {"top_k": 2, "forbidden": ["age"], "max_forbidden_share": 1.0},
}


def _store_a_capacity_curve() -> None:
    from .test_capacity import store_curve

    store_curve("churn", 2, [(1, 300.0, 5.0), (8, 1200.0, 20.0)])


#: What a built-in check reads besides the data, put in place before it runs.
PREPARE: dict[str, Callable[[], None]] = {"capacity": _store_a_capacity_curve}


@pytest.mark.parametrize("name", CHECKS.names())
def test_every_registered_check_declares_what_the_runner_needs(name: str) -> None:
    factory = CHECKS.get(name)
    assert check_check(factory, name) is factory
    spec = check_spec(name)
    assert isinstance(spec.order, int) and isinstance(spec.needs_label, bool)
    assert getattr(factory, "name", name) == name  # outcomes of kind NAME are this check's
    assert spec.parse(None) is None and spec.parse(False) is None  # absent or off
    if spec.config is not Any:  # a malformed section is refused, naming the check
        with pytest.raises(InvalidValueError, match=f"policy is not valid: {name}"):
            load_policy({name: 12345})
    # every built-in has an example section; a policy with it round-trips through JSON
    if getattr(factory, "__module__", "").startswith("mainsail."):
        policy = load_policy({"label": "churned", name: EXAMPLES[name]})
        assert policy.configured() == [name]
        assert load_policy(json.loads(json.dumps(policy.to_dict()))) == policy
        assert callable(getattr(spec.build(policy.section(name)), "run", None))


@pytest.mark.parametrize("name", [n for n in CHECKS.names() if n in EXAMPLES])
def test_every_built_in_check_runs_on_a_real_model(name: str, churn: Any) -> None:
    PREPARE.get(name, lambda: None)()
    res = mainsail.check(
        "churn/2", churn, baseline="1", policy={"label": "churned", name: EXAMPLES[name]},
        progress=False,
    )  # fmt: skip
    judged = [o for o in res.checks if o.kind == name]
    assert any(o.threshold is not None for o in judged), res.checks  # configured: judged
    assert res.summary["configured"] == [name] and name in res.summary["ran"]
    assert {o.kind for o in res.checks} <= set(CHECKS.names())  # informational ones too
    assert res.verdict == "blessed", res.reason


class NoRun:
    name = "norun"


class BadOrder:
    name = "bad"
    order = "first"

    def run(self, context: Any) -> list[Any]:
        return []


class BadConfig:
    name = "bad"
    config_model = 42

    def run(self, context: Any) -> list[Any]:
        return []


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        (42, "must be a class \\(or factory\\) called with its policy section"),
        (NoRun, "has no run\\(context\\)"),
        (BadOrder, "'order' must be an integer"),
        (BadConfig, "'config_model' must be the type of its policy section"),
    ],
)
def test_check_check_says_what_is_wrong(obj: Any, match: str) -> None:
    with pytest.raises(InvalidValueError, match=match):
        check_check(obj, "bad")
    with pytest.raises(InvalidValueError, match=match):
        register_check("bad", obj)
    assert "bad" not in CHECKS


def test_reserved_and_unknown_names() -> None:
    with pytest.raises(InvalidValueError, match="other than 'label' and 'seed'"):
        register_check("label", "acme_gate:MinRowsCheck")
    with pytest.raises(InvalidValueError, match="Unknown check.*'rowz'.*Valid checks are: base"):
        load_policy({"rowz": {"min": 1}})
    kept = load_policy({"rowz": {"min": 1}, "schema": False}, unknown="keep")
    assert kept.configured() == ["rowz"] and kept.to_dict()["rowz"] == {"min": 1}


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The third-party module importable here (its entry points are not: see below)."""
    monkeypatch.syspath_prepend(str(THIRDPARTY))
    import acme_gate

    return acme_gate


def test_a_policy_recorded_before_checks_were_plug_ins_still_reads(acme: Any) -> None:
    register_check("rows", "acme_gate:MinRowsCheck")
    try:
        old = {"label": "y", "seed": 0, "custom": {"rows": {"min": 3}}, "smoke": {}}
        policy = CheckPolicy.model_validate(old)
        assert policy.configured() == ["rows", "smoke"]  # in the checks' declared order
        assert policy.section("rows") == acme.MinRowsConfig(min=3)
    finally:
        unregister_check("rows")


def test_a_third_party_check_registered_by_name_runs_from_a_policy_file(
    acme: Any, churn: Any, tmp_path: Path, cli: Callable[..., tuple[int, str, str]]
) -> None:
    register_check("min_rows", "acme_gate:MinRowsCheck")
    try:
        assert check_spec("min_rows").factory is acme.MinRowsCheck
        policy = tmp_path / "checks.yaml"
        policy.write_text("label: churned\nmin_rows: {min: 100, per_class: true}\n")
        code, out, err = cli("check", "churn/2", "--data", "datasets:/churn-holdout/1",
                             "--policy", str(policy), "--json")  # fmt: skip
        assert code == 0, err
        result = json.loads(out)
        (rows,) = [c for c in result["checks"] if c["kind"] == "min_rows"]
        assert rows["status"] == "pass" and rows["threshold"] == 100.0
        assert result["checks"][0]["kind"] == "min_rows"  # its declared order: first
        assert result["policy"]["min_rows"] == {"min": 100, "per_class": True}
        policy.write_text("label: churned\nmin_rows: {min: 100000}\n")
        code, out, _ = cli("check", "churn/2", "--data", "datasets:/churn-holdout/1",
                           "--policy", str(policy), "--json")  # fmt: skip
        assert code == 1 and json.loads(out)["verdict"] == "rejected"
        policy.write_text("min_rows: {min: 0}\n")  # the check's own config model says no
        code, _, err = cli("check", "churn/2", "--data", "datasets:/churn-holdout/1",
                           "--policy", str(policy))  # fmt: skip
        said = " ".join(err.split())  # the console wraps long lines
        assert code == 2 and "min_rows.min: Input should be greater than or equal to 1" in said
    finally:
        unregister_check("min_rows")
    assert "min_rows" not in CHECKS


@pytest.mark.timeout(180)
def test_a_third_party_check_installed_as_an_entry_point_runs_in_mainsail_check(
    ctx: Any, churn: Any, home: Path, tmp_path: Path
) -> None:
    """A package that declares ``[mainsail.checks] min_rows = acme_gate:MinRowsCheck``: a
    fresh ``mainsail check`` process finds it with no registration call anywhere."""
    policy = tmp_path / "checks.yaml"
    policy.write_text("label: churned\nmetrics: {accuracy: 0.5}\nmin_rows: {min: 100}\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(map(str, [SRC, THIRDPARTY, THIRDPARTY / "site"])),
        "MAINSAIL_HOME": str(home),
    }
    cmd = [sys.executable, "-m", "mainsail", "check", "churn/2", "--data",
           "datasets:/churn-holdout/1", "--policy", str(policy), "--json"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [c["kind"] for c in result["checks"]][:2] == ["min_rows", "metrics"]
    assert result["summary"]["configured"] == ["min_rows", "metrics"]
    stored = mainsail.latest_check("churn/2")  # recorded in the store this process shares
    assert stored is not None and stored.id == result["id"]
    assert "min_rows" not in CHECKS  # this process never loaded the plug-in
