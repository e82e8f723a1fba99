"""The standalone HTML + JSON report, and the monitor/alerts CLI."""

from __future__ import annotations

import json
import re

import mainsail
from mainsail.monitoring import write_report


def test_report_is_standalone_html_plus_json(served, ctx, make_churn, tmp_path) -> None:  # type: ignore[no-untyped-def]
    mainsail.create_monitor("churn", notifiers=[])
    served.traffic(make_churn(1000, seed=3), label_every=2)
    mainsail.run_monitor("churn")
    served.traffic(make_churn(1000, seed=4, age_shift=10), label_every=2)
    mainsail.run_monitor("churn")
    html_path, json_path = write_report(ctx, "churn", tmp_path / "r" / "report.html")
    html = html_path.read_text()
    assert html.startswith("<!doctype html>") and "<svg" in html
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html), "nothing may be fetched"
    for part in ("Drift", "Distributions", "Data quality", "Performance", "Over time", "age"):
        assert part in html
    doc = json.loads(json_path.read_text())
    # The model's outputs are profiled too (reference: its predictions on the training data).
    assert set(doc["distributions"]) == {"age", "income", "plan", "prediction"}
    age = doc["distributions"]["age"]
    assert age["kind"] == "numeric" and len(age["reference"]) == len(age["current"])
    assert abs(sum(age["reference"]) - 1) < 1e-9
    assert doc["distributions"]["plan"]["kind"] == "categorical"
    assert len(doc["history"]) == 2 and doc["result"]["drift"]["columns"]


def test_monitor_and_alerts_cli(served, ctx, make_churn, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    served.traffic(make_churn(1500, seed=1, age_shift=10, plan_p=[0.1, 0.1, 0.8]), label_every=2)
    spec = tmp_path / "monitor.yaml"
    spec.write_text(
        "endpoint: churn\nwindow: 1h\nchecks: [drift, quality, performance]\nnotifiers: []\n"
    )
    code, out, err = cli("monitor", "create", "-f", str(spec))
    assert code == 0, err
    assert "churn/default" in out
    code, out, err = cli("monitor", "list")
    assert code == 0 and "churn" in out
    code, out, err = cli("monitor", "run", "churn", "--window", "1h")
    assert code == 0, err
    assert "Dataset drift: YES" in out
    code, out, err = cli("monitor", "results", "churn", "--json")
    rows = json.loads(out)
    assert len(rows) == 1 and rows[0]["status"] == "warning" and rows[0]["drift.share"] > 0.5
    code, out, err = cli("monitor", "results", "churn")
    assert code == 0 and "warning" in out
    code, out, err = cli("alerts", "list", "--state", "firing", "--json")
    (alert,) = json.loads(out)
    assert alert["rule"] == "drift"
    code, out, err = cli("alerts", "resolve", str(alert["id"]))
    assert code == 0 and "resolved" in out
    code, out, err = cli("monitor", "report", "churn", "--out", str(tmp_path / "rep.html"))
    assert code == 0 and (tmp_path / "rep.json").exists()
    code, out, err = cli("monitor", "run", "nope")
    assert code == 1 and "No monitor 'default' on endpoint 'nope'" in err
    code, out, err = cli("monitor", "create")
    assert code == 1 and "ENDPOINT or --file" in err
