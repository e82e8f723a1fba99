"""mainsail.check end to end: verdicts, stored results and reports, bad input, the alias gate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

import mainsail
from mainsail.checks import CheckResult, decide_verdict
from mainsail.checks._types import CheckOutcome
from mainsail.core import InvalidValueError, ModelStateError
from mainsail.store import _tables as t

from .conftest import POLICY


def test_worse_model_rejected_better_blessed(churn, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # v2 (good) against the champion v1 (age only): blessed, with a significant gain
    good = mainsail.check(
        "models:/churn/2",
        "datasets:/churn-holdout/1",
        baseline="@champion",
        policy=POLICY,
        out_dir=tmp_path / "good",
        progress=False,
    )
    assert good.verdict == "blessed" and good.blessed, good.reason
    comp = next(c for c in good.checks if c.name == "baseline.roc_auc")
    assert comp.status == "pass" and comp.data["low"] > 0.05 and comp.data["baseline_version"] == 1
    assert {c.name for c in good.checks} >= {
        "metrics.roc_auc",
        "metrics.accuracy",
        "schema",
        "skew",
    }
    # v1 against v2 as the baseline: rejected on the floor and on the comparison
    worse = mainsail.check(
        "churn/1", "datasets:/churn-holdout/1", baseline="2", policy=POLICY, progress=False
    )
    assert worse.verdict == "rejected" and not worse.blessed
    failed = {c.name for c in worse.failed}
    assert {"metrics.roc_auc", "baseline.roc_auc"} <= failed
    assert (
        "significantly worse"
        in next(c for c in worse.checks if c.name == "baseline.roc_auc").detail
    )
    # McNemar's test on accuracy, same rows
    mc = mainsail.check(
        "churn/2",
        "datasets:/churn-holdout/1",
        baseline="1",
        progress=False,
        policy={"label": "churned", "baseline": {"test": "mcnemar", "margin": 0.0}},
    )
    acc = next(c for c in mc.checks if c.name == "baseline.accuracy")
    assert acc.status == "pass" and "McNemar p=" in acc.detail and acc.data["p_value"] < 0.01
    b, c = acc.data["discordant"]
    assert b > c and mc.verdict == "blessed"
    with pytest.raises(InvalidValueError, match="McNemar's test compares accuracy"):
        mainsail.check(
            "churn/2",
            "datasets:/churn-holdout/1",
            baseline="1",
            progress=False,
            policy={"label": "churned", "baseline": {"test": "mcnemar", "metric": "roc_auc"}},
        )
    # stored, newest first, with reports in the artifact store and on disk
    assert [r.verdict for r in mainsail.get_check_results("churn")] == [
        "blessed",
        "rejected",
        "blessed",
    ]
    latest = mainsail.latest_check("models:/churn/2")
    assert isinstance(latest, CheckResult) and latest.id == mc.id and latest.blessed
    assert mainsail.latest_check("churn@champion").version == 1  # type: ignore[union-attr]
    ctx = mainsail.get_context()
    stored = json.loads(ctx.artifacts.get_bytes(good.report_digest))  # type: ignore[arg-type]
    assert stored["verdict"] == "blessed" and len(stored["checks"]) == len(good.checks)
    assert b"BLESSED" in ctx.artifacts.get_bytes(good.html_digest)  # type: ignore[arg-type]
    report = json.loads((tmp_path / "good" / "report.json").read_text())
    assert report["id"] == good.id
    assert "baseline.roc_auc" in (tmp_path / "good" / "report.html").read_text()
    assert "blessed" in (tmp_path / "good" / "report.md").read_text()
    assert good.to_dict()["checks"][0]["status"] in ("pass", "fail", "inconclusive")


def test_no_thresholds_nothing_blessed_by_accident(churn) -> None:  # type: ignore[no-untyped-def]
    r = mainsail.check("churn/2", churn, label="churned", progress=False)
    assert r.verdict == "rejected"
    assert "nothing is blessed by accident" in r.reason
    assert all(c.threshold is None for c in r.checks if c.kind == "metrics")
    assert any(c.name == "metrics.roc_auc" and c.value and c.value > 0.75 for c in r.checks)


def test_verdict_rule() -> None:
    def o(status: str, kind: str = "metrics", threshold: float | None = 0.8) -> CheckOutcome:
        return CheckOutcome(name=f"{kind}.x", kind=kind, status=status, threshold=threshold)  # type: ignore[arg-type]

    assert decide_verdict([o("pass")], ["metrics"])[0] == "blessed"
    assert decide_verdict([o("pass"), o("fail", "schema", None)], ["metrics"])[0] == "rejected"
    # inconclusive does not bless on its own, nor do informational passes
    assert decide_verdict([o("inconclusive")], ["metrics"])[0] == "rejected"
    assert decide_verdict([o("pass", threshold=None)], ["metrics"])[0] == "rejected"
    assert decide_verdict([o("pass", "skew")], ["metrics"])[0] == "rejected"  # not configured
    assert (
        decide_verdict([o("pass"), o("inconclusive", "baseline")], ["metrics", "baseline"])[0]
        == "blessed"
    )


def test_bad_inputs_give_clear_errors(churn, ctx) -> None:  # type: ignore[no-untyped-def]
    data = "datasets:/churn-holdout/1"
    with pytest.raises(InvalidValueError, match="no label column 'nope'.*Columns are: age, income"):
        mainsail.check("churn/2", data, label="nope", policy=POLICY, progress=False)
    with pytest.raises(InvalidValueError, match="need the label.*--label"):
        mainsail.check("churn/2", data, policy={"metrics": {"roc_auc": 0.8}}, progress=False)
    with pytest.raises(
        InvalidValueError, match="Unknown check.*'accuracy_check'.*Valid checks are: baseline"
    ):
        mainsail.check(
            "churn/2", data, policy={"label": "churned", "accuracy_check": {}}, progress=False
        )
    with pytest.raises(
        InvalidValueError, match="unknown metric 'auroc'.*Valid metrics are: accuracy"
    ):
        mainsail.check(
            "churn/2", data, policy={"label": "churned", "metrics": {"auroc": 0.8}}, progress=False
        )
    with pytest.raises(
        InvalidValueError, match="'rmse' is for regression.*Valid metrics for classification"
    ):
        mainsail.check(
            "churn/2",
            data,
            policy={"label": "churned", "metrics": {"rmse": {"max": 1}}},
            progress=False,
        )
    with pytest.raises(InvalidValueError, match="Slice column.*'region'.*Columns are: age"):
        mainsail.check(
            "churn/2",
            data,
            policy={"label": "churned", "slices": {"columns": ["region"], "min": 0.5}},
            progress=False,
        )
    with pytest.raises(InvalidValueError, match="lacks model input.*'income'"):
        mainsail.check("churn/2", churn.drop(columns="income"), label="churned", progress=False)
    # a baseline of another task
    from sklearn.linear_model import LinearRegression

    reg_X = churn[["age", "income"]]
    mv = mainsail.register_model(
        LinearRegression().fit(reg_X, churn.income), name="spend", input_example=reg_X.head()
    )
    mainsail.register_model(
        LinearRegression().fit(reg_X, churn.income), name="churn", input_example=reg_X.head()
    )
    with pytest.raises(
        InvalidValueError, match="baseline models:/churn/3 is a regression model.*classification"
    ):
        mainsail.check("churn/2", data, baseline="3", policy=POLICY, progress=False)
    assert mv.task == "regression"
    with pytest.raises(InvalidValueError, match="is models:/churn/2 itself"):
        mainsail.check("churn/2", data, baseline="2", policy=POLICY, progress=False)
    # labels the model does not know
    with pytest.raises(InvalidValueError, match="holds value.*'yes'.*classes are: 0, 1"):
        mainsail.check("churn/2", churn.assign(churned="yes"), policy=POLICY, progress=False)


def test_slices_fail_on_the_weak_segment(churn) -> None:  # type: ignore[no-untyped-def]
    # make the model useless for plan == 'team' by scrambling that slice's labels
    rng = np.random.default_rng(0)
    data = churn.copy()
    team = data["plan"] == "team"
    data.loc[team, "churned"] = rng.integers(0, 2, int(team.sum()))
    r = mainsail.check(
        "churn/2",
        data,
        policy={
            "label": "churned",
            "slices": {"columns": ["plan", "income"], "min": 0.7, "max_gap": 0.1, "bins": 3},
        },
        progress=False,
    )
    by = {c.name: c for c in r.checks}
    assert by["slices.plan"].status == "fail" and "plan=team" in by["slices.plan"].detail
    assert by["slices.plan.gap"].status == "fail"
    assert len(by["slices.income"].data["slices"]) == 3  # numeric column binned
    assert r.verdict == "rejected"


def test_require_checks_gates_the_alias(churn) -> None:  # type: ignore[no-untyped-def]
    # turning the gate on checks the version the alias points at (issue 21, 6)
    with pytest.raises(ModelStateError, match="Turning on the require_checks gate.*version 1"):
        mainsail.set_alias("churn", "champion", 1, require_checks=True)
    assert mainsail.get_context().store.alias_gate("churn", "champion") is False  # unchanged
    lenient = {"label": "churned", "metrics": {"accuracy": {"min": 0.5}}}
    assert mainsail.check(
        "churn/1", "datasets:/churn-holdout/1", policy=lenient, progress=False
    ).blessed
    assert mainsail.set_alias("churn", "champion", 1, require_checks=True).require_checks
    with pytest.raises(
        ModelStateError,
        match="requires a blessed CheckResult.*no CheckResult.*mainsail check models:/churn/2",
    ):
        mainsail.set_alias("churn", "champion", 2)
    bad = mainsail.check(
        "churn/2",
        "datasets:/churn-holdout/1",
        policy={**POLICY, "metrics": {"roc_auc": {"min": 0.99}}},
        progress=False,
    )
    assert bad.verdict == "rejected"
    with pytest.raises(ModelStateError, match="latest CheckResult is 'rejected'"):
        mainsail.set_alias("churn", "champion", 2)
    assert mainsail.get_model_version("models:/churn@champion").version == 1
    mainsail.check(
        "churn/2", "datasets:/churn-holdout/1", baseline="@champion", policy=POLICY, progress=False
    )
    alias = mainsail.set_alias("churn", "champion", 2)
    assert alias.require_checks and alias.version == 2
    # other aliases are not gated; lifting the gate is explicit
    mainsail.set_alias("churn", "staging", 1)
    assert not mainsail.set_alias("churn", "champion", 1, require_checks=False).require_checks


def test_deleting_a_version_forgets_its_blessing(churn, frames, fitted) -> None:  # type: ignore[no-untyped-def]
    train, _ = frames
    X = train.drop(columns="churned")
    mainsail.register_model(fitted[0], name="churn", input_example=X.head())
    mainsail.check("churn/3", "datasets:/churn-holdout/1", policy=POLICY, progress=False)
    assert mainsail.latest_check("churn/3").blessed  # type: ignore[union-attr]
    mainsail.delete_version("churn", 3)
    with mainsail.get_context().store.db.read() as conn:  # its check results went with it
        rows = conn.execute(
            sa.select(t.check_results.c.id).where(t.check_results.c.version == 3)
        ).all()
    assert rows == []
    again = mainsail.register_model(fitted[1], name="churn", input_example=X.head())
    assert again.version == 4  # a deleted number is never reused
    assert mainsail.latest_check("churn/4") is None


def test_cli_exit_codes_and_listing(churn, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    policy = tmp_path / "checks.yaml"
    policy.write_text(
        "label: churned\nmetrics:\n  roc_auc: {min: 0.75}\nbaseline: {metric: roc_auc, margin: -0.01, n_boot: 300}\n"
    )
    code, out, _ = cli(
        "check",
        "models:/churn/2",
        "--data",
        "datasets:/churn-holdout/1",
        "--baseline",
        "@champion",
        "--policy",
        str(policy),
        "--out",
        str(tmp_path / "r"),
    )
    assert code == 0, out
    assert "BLESSED" in out and "baseline.roc_auc" in out
    assert (tmp_path / "r" / "report.html").is_file()
    code, out, _ = cli(
        "check", "churn/1", "--data", "datasets:/churn-holdout/1", "--policy", str(policy), "--json"
    )
    assert code == 1
    assert json.loads(out)["verdict"] == "rejected"
    code, out, _ = cli("checks", "list", "churn", "--json")
    assert code == 0 and [r["version"] for r in json.loads(out)] == [1, 2]
    code, out, _ = cli("checks", "list", "churn/2")
    assert code == 0 and "blessed" in out
    code, _, _ = cli("checks", "show", "churn/2", "--html", str(tmp_path / "s.html"))
    assert code == 0 and "Release checks" in (tmp_path / "s.html").read_text()
    code, _, err = cli("check", "churn/2", "--data", "datasets:/churn-holdout/1", "--label", "nope")
    assert code == 2 and "no label column 'nope'" in err
    code, _, err = cli(
        "check",
        "churn/2",
        "--data",
        "datasets:/churn-holdout/1",
        "--policy",
        str(tmp_path / "missing.yaml"),
    )
    assert code == 2 and "policy file" in err


def _unspaced(text: str) -> str:
    return "".join(text.split())


def test_cli_invalid_input_exits_2_and_names_the_file_and_key(churn, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """CI tells "rejected" (1) from "the checks could not run" (2)."""
    args = ("check", "churn/2", "--data", "datasets:/churn-holdout/1", "--policy")
    bad_yaml = tmp_path / "broken.yaml"
    bad_yaml.write_text("label: churned\nmetrics:\n  roc_auc: {min: 0.8\n")
    code, _, err = cli(*args, str(bad_yaml))
    said = " ".join(err.split())
    assert code == 2, err
    # the console folds long lines (a long temporary path may break anywhere): compare unspaced
    assert _unspaced(f"The policy file '{bad_yaml}' is not valid YAML: line 4") in _unspaced(err)
    assert "<unicode string>" not in said
    bad_key = tmp_path / "bad-key.yaml"
    bad_key.write_text("label: churned\nbudgets: {p99: 50}\n")
    code, _, err = cli(*args, str(bad_key))
    said = " ".join(err.split())
    assert code == 2
    assert _unspaced(
        f"policy in '{bad_key}' is not valid: budgets.p99: 'p99' is not a setting"
    ) in _unspaced(err)
    assert "Valid settings are: p99_ms" in said and "mainsail.checks._policy" not in said
    wrong_label = tmp_path / "label.yaml"
    wrong_label.write_text("label: churn\nmetrics: {roc_auc: {min: 0.7}}\n")
    code, _, err = cli(*args, str(wrong_label))
    said = " ".join(err.split())
    assert code == 2 and "The policy names it (label: churn): fix 'label:' in the policy" in said
    code, _, err = cli("check", "churn/9", "--data", "datasets:/churn-holdout/1")
    assert code == 2 and "Traceback" not in err


def test_check_results_on_postgres(pg_url: str, churn) -> None:  # type: ignore[no-untyped-def]
    from mainsail.store import Database, SqlStore

    store = SqlStore(Database(pg_url))
    FIELDS = dict(
        flavor="sklearn",
        manifest_digest="a" * 64,
        files={},
        size_bytes=1,
        signature={},
        task="classification",
        classes=[0, 1],
        metrics={},
        datasets=[],
        tags={},
        card={},
        allow_pickle=False,
    )
    store.create_model_version("m", **FIELDS)
    with pytest.raises(ModelStateError, match="Turning on the require_checks gate"):
        store.set_alias("m", "prod", 1, "ana", require_checks=True)
    store.create_check_result("m", 1, verdict="blessed", policy={}, checks=[], summary={})
    store.set_alias("m", "prod", 1, "ana", require_checks=True)  # turning the gate on
    store.create_model_version("m", **FIELDS)
    with pytest.raises(ModelStateError, match="version 2 does not have one"):
        store.set_alias("m", "prod", 2, "ana")
    forged = {"reason": "ok", "computed_by": "client"}  # what checks/record stores
    store.create_check_result("m", 2, verdict="blessed", policy={}, checks=[], summary=forged)
    with pytest.raises(ModelStateError, match="no CheckResult that Mainsail computed; the gate"):
        store.set_alias("m", "prod", 2, "ana")
    row = store.create_check_result(
        "m", 2, verdict="blessed", policy={}, checks=[], summary={"reason": "ok"}
    )
    assert row["id"] and row["model"] == "m" and row["version"] == 2
    store.set_alias("m", "prod", 2, "ana")
    assert [r["verdict"] for r in store.list_check_results("m", 2)] == ["blessed", "blessed"]
    assert store.get_check_result(row["id"])["model"] == "m"  # type: ignore[index]
    store.db.dispose()
