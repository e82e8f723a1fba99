"""Prometheus gauges from stored results; Grafana dashboard and rules written by the CLI."""

from __future__ import annotations

import json
import re

import yaml
from prometheus_client.parser import text_string_to_metric_families

import mainsail
from mainsail.monitoring import grafana_dashboard, prometheus_rules, render_prometheus
from mainsail.monitoring._exposition import GAUGES, MonitoringCollector

_NAME = re.compile(r"\b(mainsail_[a-z_]+)\b")


def test_gauges_from_the_latest_result(served, ctx, make_churn) -> None:  # type: ignore[no-untyped-def]
    assert render_prometheus(ctx) == b""
    served.traffic(make_churn(1500, seed=1, age_shift=10), label_every=3)
    mainsail.create_monitor("churn", notifiers=[])
    mainsail.run_monitor("churn")
    text = render_prometheus(ctx).decode()
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    assert set(fams) <= set(GAUGES)
    score = {s.labels["feature"]: s for s in fams["mainsail_drift_score"].samples}
    assert set(score) == {"age", "income", "plan"}
    assert score["age"].labels == {
        "endpoint": "churn",
        "monitor": "default",
        "model_version": "1",
        "feature": "age",
        "test": "wasserstein",
    }
    assert score["age"].value > 0.5
    missing = {s.labels["feature"]: s.value for s in fams["mainsail_missing_ratio"].samples}
    assert missing == {"age": 0.0, "income": 0.0, "plan": 0.0}
    cov = fams["mainsail_label_coverage"].samples[0]
    assert 0.3 < cov.value < 0.4
    perf = {s.labels["metric"] for s in fams["mainsail_performance"].samples}
    assert {"accuracy", "f1"} <= perf
    status = {s.labels["status"]: s.value for s in fams["mainsail_monitor_status"].samples}
    assert sum(status.values()) == 1
    # the prometheus_client collector yields the same families
    from prometheus_client import CollectorRegistry, generate_latest

    reg = CollectorRegistry()
    reg.register(MonitoringCollector(ctx))  # type: ignore[arg-type]
    again = {f.name for f in text_string_to_metric_families(generate_latest(reg).decode())}
    assert again == set(fams)


def test_grafana_dashboard_queries_exported_gauges() -> None:
    d = grafana_dashboard()
    assert d["schemaVersion"] >= 30 and d["uid"] and d["panels"]
    ids = [p["id"] for p in d["panels"]]
    assert len(set(ids)) == len(ids)
    for p in d["panels"]:
        assert (
            p["type"] == "timeseries" and p["targets"] and set(p["gridPos"]) == {"h", "w", "x", "y"}
        )
        for t in p["targets"]:
            names = set(_NAME.findall(t["expr"]))
            assert names and names <= set(GAUGES), t["expr"]
            assert t["expr"].count("(") == t["expr"].count(")")
    json.loads(json.dumps(d))


def test_prometheus_rules_are_valid_and_use_exported_gauges() -> None:
    doc = yaml.safe_load(yaml.safe_dump(prometheus_rules()))
    (group,) = doc["groups"]
    assert group["name"] and group["rules"]
    for r in group["rules"]:
        assert set(r) >= {"alert", "expr", "for", "labels", "annotations"}
        assert re.fullmatch(r"\d+[smh]", r["for"]) and r["labels"]["severity"] in (
            "info",
            "warning",
            "critical",
        )
        assert set(_NAME.findall(r["expr"])) <= set(GAUGES)


def test_build_commands_write_valid_files(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("build", "grafana", "--out", str(tmp_path / "dash.json"))
    assert code == 0, err
    assert json.loads((tmp_path / "dash.json").read_text())["panels"]
    code, out, err = cli(
        "build", "prometheus-rules", "--out", str(tmp_path / "rules.yaml"), "--drift-for", "30m"
    )
    assert code == 0, err
    rules = yaml.safe_load((tmp_path / "rules.yaml").read_text())["groups"][0]["rules"]
    assert rules[0]["for"] == "30m"
