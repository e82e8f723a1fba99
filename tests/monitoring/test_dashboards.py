"""The generated Prometheus rules and Grafana dashboard, checked by real tools, not regexes.

- the rules pass ``promtool check rules`` and behave in ``promtool test rules`` (series in,
  alerts out), Prometheus's own parser and evaluator (Debian's ``prometheus`` package);
- the dashboard validates against a JSON Schema of Grafana's dashboard model (``jsonschema``)
  and every panel query parses as PromQL in ``promtool``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mainsail.monitoring import grafana_dashboard, prometheus_rules
from mainsail.monitoring._exposition import GAUGES


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is required in CI (.ci/run installs prometheus) and is missing")
        pytest.skip("promtool is not installed (apt-get install -y prometheus)")
    return path


def _run(promtool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_rules_pass_promtool_check(promtool: str, tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(prometheus_rules()))
    done = _run(promtool, "check", "rules", "rules.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 7 rules found" in done.stdout
    # and promtool does catch a broken rule (the check can fail)
    bad = prometheus_rules()
    bad["groups"][0]["rules"][0]["expr"] = "mainsail_dataset_drift == == 1"
    (tmp_path / "bad.yml").write_text(yaml.safe_dump(bad))
    assert _run(promtool, "check", "rules", "bad.yml", cwd=tmp_path).returncode != 0


def test_the_rules_fire_on_the_exported_series(promtool: str, tmp_path: Path) -> None:
    """promtool's rule unit tests: the gauges the exporter writes raise the right alerts."""
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(prometheus_rules(drift_for="15m")))
    labels = 'endpoint="churn",monitor="inputs",model_version="3"'
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": f"mainsail_dataset_drift{{{labels}}}", "values": "0 0 1x30"},
                    {"series": f"mainsail_error_rate{{{labels}}}", "values": "0.01x5 0.2x20"},
                    {
                        "series": f'mainsail_performance_delta{{{labels},metric="roc_auc"}}',
                        "values": "-0.01x60",
                    },
                ],
                "alert_rule_test": [
                    {"eval_time": "10m", "alertname": "MainsailDatasetDrift", "exp_alerts": []},
                    {
                        "eval_time": "20m",
                        "alertname": "MainsailDatasetDrift",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "warning",
                                    "endpoint": "churn",
                                    "monitor": "inputs",
                                    "model_version": "3",
                                },
                                "exp_annotations": {
                                    "summary": "Dataset drift on churn (model version 3)",
                                    "description": "The share of drifted features reached "
                                    "the monitor's threshold.",
                                },
                            }
                        ],
                    },
                    {
                        "eval_time": "15m",
                        "alertname": "MainsailErrorRate",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "critical",
                                    "endpoint": "churn",
                                    "monitor": "inputs",
                                    "model_version": "3",
                                },
                                "exp_annotations": {"summary": "20% of requests fail on churn"},
                            }
                        ],
                    },
                    {"eval_time": "50m", "alertname": "MainsailPerformanceDrop", "exp_alerts": []},
                ],
            }
        ],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    done = _run(promtool, "test", "rules", "tests.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


# Grafana's dashboard JSON model (https://grafana.com/docs/grafana/latest/dashboards/
# build-dashboards/view-dashboard-json-model/), the parts this dashboard uses.
_DATASOURCE = {
    "type": "object",
    "required": ["type", "uid"],
    "properties": {"type": {"const": "prometheus"}, "uid": {"type": "string", "minLength": 1}},
}
DASHBOARD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["title", "uid", "schemaVersion", "panels", "templating", "time"],
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "uid": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,40}$"},
        "schemaVersion": {"type": "integer", "minimum": 36},
        "version": {"type": "integer"},
        "editable": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "refresh": {"type": "string", "pattern": "^[0-9]+[smhd]$"},
        "time": {
            "type": "object",
            "required": ["from", "to"],
            "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
        },
        "templating": {
            "type": "object",
            "required": ["list"],
            "properties": {
                "list": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "type"],
                        "properties": {
                            "name": {"type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$"},
                            "type": {"enum": ["query", "datasource", "custom", "constant"]},
                            "multi": {"type": "boolean"},
                            "includeAll": {"type": "boolean"},
                            "refresh": {"enum": [0, 1, 2]},
                        },
                    },
                }
            },
        },
        "annotations": {"type": "object", "required": ["list"]},
        "panels": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "type", "title", "gridPos", "targets", "datasource"],
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "type": {"enum": ["timeseries", "stat", "gauge", "table", "bargauge"]},
                    "title": {"type": "string", "minLength": 1},
                    "datasource": _DATASOURCE,
                    "gridPos": {
                        "type": "object",
                        "required": ["h", "w", "x", "y"],
                        "additionalProperties": False,
                        "properties": {
                            "h": {"type": "integer", "minimum": 1},
                            "w": {"type": "integer", "minimum": 1, "maximum": 24},
                            "x": {"type": "integer", "minimum": 0, "maximum": 23},
                            "y": {"type": "integer", "minimum": 0},
                        },
                    },
                    "fieldConfig": {
                        "type": "object",
                        "required": ["defaults", "overrides"],
                        "properties": {"overrides": {"type": "array"}},
                    },
                    "targets": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["refId", "expr", "datasource"],
                            "properties": {
                                "refId": {"type": "string", "pattern": "^[A-Z]$"},
                                "expr": {"type": "string", "minLength": 1},
                                "legendFormat": {"type": "string"},
                                "datasource": _DATASOURCE,
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_the_dashboard_validates_against_the_grafana_model() -> None:
    import jsonschema

    d = grafana_dashboard()
    jsonschema.validate(d, DASHBOARD_SCHEMA)
    # the schema rejects what Grafana would (it can fail)
    broken = grafana_dashboard()
    broken["panels"][0]["gridPos"]["w"] = 30
    with pytest.raises(jsonschema.ValidationError, match="30 is greater than the maximum"):
        jsonschema.validate(broken, DASHBOARD_SCHEMA)
    # what a schema cannot say: unique ids and refIds, panels inside the grid, no overlaps
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for p in d["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        mine = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & mine, f"{p['title']} overlaps another panel"
        cells |= mine
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs))
    variables = {v["name"] for v in d["templating"]["list"]}
    for p in d["panels"]:
        for t in p["targets"]:
            used = set(re.findall(r"\$\{?([a-zA-Z_]\w*)", t["expr"] + p["datasource"]["uid"]))
            assert used <= variables | {"__rate_interval", "__interval"}, t["expr"]


def test_every_dashboard_query_is_promql_over_exported_gauges(
    promtool: str, tmp_path: Path
) -> None:
    """Each panel query, its Grafana variables filled in, as a recording rule promtool parses."""
    d = grafana_dashboard()
    rules = []
    for p in d["panels"]:
        for t in p["targets"]:
            expr = t["expr"].replace("$endpoint", ".*").replace("$__rate_interval", "5m")
            rules.append({"record": f"panel_{p['id']}_{t['refId']}", "expr": expr})
            names = set(re.findall(r"\b(mainsail_[a-z_]+)\b", expr))
            assert names and names <= set(GAUGES), expr
    (tmp_path / "panels.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]})
    )
    done = _run(promtool, "check", "rules", "panels.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout
