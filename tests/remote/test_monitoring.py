"""Monitoring through the SDK and the CLI: the same calls, results and errors embedded and
against a live server (``sdk_mode``). Monitors run where the live sketches are."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

import mainsail
from mainsail.client._monitoring import (
    delete_monitor,
    get_monitor,
    list_results,
    results_frame,
    write_report,
)
from mainsail.core._errors import InvalidAddressError, InvalidValueError, NotFoundError
from mainsail.monitoring import Alert, AlertRule, Monitor, MonitorResult
from mainsail.serving import LiveSketches

Cli = Callable[..., tuple[int, str, str]]
COLUMNS = ["age", "income"]


def _frame(n: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, 2)) + [40 + shift, 50], columns=COLUMNS)


@pytest.fixture
def plane_root(sdk_mode: str, request: pytest.FixtureRequest) -> str:
    """Where data-plane replicas write live sketches: the server's artifacts in remote mode."""
    from mainsail.core._settings import Settings

    if sdk_mode == "embedded":
        return mainsail.get_context().settings.resolved_artifact_root()
    srv, _ = request.getfixturevalue("live_server")
    return Settings(home=srv.home, tracking_uri=None).resolved_artifact_root()


def _register(model_name: str) -> None:
    from sklearn.linear_model import LogisticRegression

    X = _frame(400)
    model = LogisticRegression().fit(X, (X["age"] > 40).astype(int))
    mainsail.register_model(model, name=model_name, input_example=X.head(), reference=X)


def _serve(root: str, endpoint: str, model_name: str, frame: pd.DataFrame) -> None:
    """Sketch ``frame`` as a replica serving version 1 would, in the current window."""
    ref = mainsail.get_model_version(f"models:/{model_name}/1").reference_profile
    from mainsail.data._profile import Profile

    sketches = LiveSketches(root, endpoint, reference=Profile.from_dict(ref))
    now = int(time.time() * 1000)
    sketches.observe(
        pd.DataFrame(
            {
                "ts": np.full(len(frame), now, dtype="int64"),
                "model_version": "1",
                "request_id": [f"r{i // 10}" for i in range(len(frame))],
                "latency_ms": np.full(len(frame), 4.0),
                **{f"input.{c}": frame[c].to_numpy() for c in COLUMNS},
            }
        )
    )
    assert sketches.flush() >= 1


def test_monitor_lifecycle_is_the_same_in_both_modes(
    sdk_mode: str, unique: str, plane_root: str
) -> None:
    m, ep = f"churn-{unique}", f"ep-{unique}"
    _register(m)
    rule = AlertRule(name="drift", metric="drift.dataset", op=">=", threshold=1)
    made = mainsail.create_monitor(
        ep, checks=["drift", "operational"], window="30m", model=m, rules=[rule]
    )
    assert isinstance(made, Monitor) and made.spec.rules == [rule]
    assert (made.endpoint, made.name, made.spec.window, made.interval_s) == (
        ep,
        "default",
        "30m",
        300,
    )
    assert get_monitor(ep) == made
    assert mainsail.list_monitors(ep) == [made]
    assert f"{ep}/default" in {f"{x.endpoint}/{x.name}" for x in mainsail.list_monitors()}
    # updating by endpoint + name keeps the id
    again = mainsail.create_monitor(ep, checks=["drift", "operational"], window="1h", model=m)
    assert (again.id, again.spec.window) == (made.id, "1h")

    empty = mainsail.run_monitor(ep)
    assert isinstance(empty, MonitorResult) and empty.status == "no_data"
    _serve(plane_root, ep, m, _frame(300, shift=3.0, seed=1))  # age moved by 3 sd
    r = mainsail.run_monitor(ep, window="2h")
    assert (r.status, r.model_version, r.source) == ("warning", "1", "sketches")
    assert r.drift is not None and r.drift.dataset_drift and r.drift.drifted_columns == ["age"]
    assert r.scores["drift.feature.age.drifted"] == 1.0 and r.scores["drift.share"] == 0.5
    assert r.operational is not None and r.operational.requests == 30
    assert [(a.rule, a.state) for a in r.alerts] == [("drift", "firing")]
    assert r.window_end - r.window_start == 2 * 3600 * 1000

    alerts = mainsail.list_alerts(ep)
    assert [(a.rule, a.state, a.endpoint) for a in alerts] == [("drift", "firing", ep)]
    assert isinstance(alerts[0], Alert) and alerts[0].evidence["features"][0]["column"] == "age"
    assert mainsail.list_alerts(ep, state="resolved") == []
    done = mainsail.resolve_alert(alerts[0].id)
    assert (done.id, done.state) == (alerts[0].id, "resolved")
    assert [a.state for a in mainsail.list_alerts(ep, "resolved")] == ["resolved"]

    stored = list_results(ep)
    assert [x.id for x in stored] == [empty.id, r.id]
    assert stored[1].scores == r.scores and stored[1].drift == r.drift
    frame = results_frame(ep)
    assert list(frame["status"]) == ["no_data", "warning"]
    assert frame["drift.share"].iloc[-1] == 0.5
    delete_monitor(ep)
    with pytest.raises(NotFoundError, match=f"No monitor 'default' on endpoint '{ep}'"):
        get_monitor(ep)


def test_cli_runs_monitors_and_writes_the_report_here(
    sdk_mode: str, unique: str, plane_root: str, cli: Cli, tmp_path: Path
) -> None:
    m, ep = f"churn-{unique}", f"ep-{unique}"
    _register(m)
    code, out, err = cli("monitor", "create", ep, "--checks", "drift", "--model", m)
    assert code == 0 and f"Monitor {ep}/default (drift; window 1h" in out, out + err
    _serve(plane_root, ep, m, _frame(200, seed=2))  # like the reference: no drift
    code, out, err = cli("monitor", "run", ep, "--json")
    assert code == 0, out + err
    doc = orjson.loads(out)
    assert (doc["status"], doc["drift"]["dataset_drift"]) == ("ok", False)
    code, out, err = cli("monitor", "results", ep, "--json")
    assert code == 0 and len(orjson.loads(out)) == 1, out + err
    html = tmp_path / "out" / "report.html"
    code, out, err = cli("monitor", "report", ep, "--out", str(html))
    assert code == 0, out + err
    report = orjson.loads(html.with_suffix(".json").read_bytes())
    assert (report["endpoint"], report["monitor"], report["window"]) == (ep, "default", "1h")
    assert set(report["distributions"]) == {"age", "income"}
    assert [h["status"] for h in report["history"]] == ["ok"]
    assert "<svg" in html.read_text() and "age" in html.read_text()
    code, out, err = cli("alerts", "list", "--endpoint", ep, "--json")
    assert code == 0 and orjson.loads(out) == [], out + err


def test_bad_input_gets_the_same_errors(sdk_mode: str, unique: str, cli: Cli) -> None:
    ep = f"ep-{unique}"
    with pytest.raises(NotFoundError, match=f"No monitor 'default' on endpoint '{ep}'"):
        get_monitor(ep)
    for call in (
        lambda: mainsail.run_monitor(ep),
        lambda: list_results(ep),
        lambda: results_frame(ep),
        lambda: delete_monitor(ep),
        lambda: write_report(ep, "never.html"),
    ):
        with pytest.raises(NotFoundError, match="No monitor 'default'"):
            call()
    with pytest.raises(InvalidValueError, match="checks must be a non-empty subset"):
        mainsail.create_monitor(ep, checks=["vibes"])
    with pytest.raises(InvalidValueError, match="Expected a duration such as"):
        mainsail.create_monitor(ep, window="five minutes")
    with pytest.raises(InvalidValueError, match="Unknown drift test 'nope'. Valid tests are"):
        mainsail.create_monitor(ep, stattest="nope")
    with pytest.raises(InvalidValueError, match="drift_share must be in"):
        mainsail.create_monitor(ep, drift_share=1.5)
    with pytest.raises(InvalidAddressError, match="Endpoint name must start with"):
        mainsail.create_monitor("bad name/x")
    with pytest.raises(InvalidAddressError, match="Monitor name must start with"):
        mainsail.create_monitor(ep, name="a b")
    with pytest.raises(InvalidValueError, match="Valid states are: pending, firing, resolved"):
        mainsail.list_alerts(ep, state="open")
    with pytest.raises(NotFoundError, match="No alert with id 987654321"):
        mainsail.resolve_alert(987654321)
    assert mainsail.list_monitors(ep) == []  # nothing was half-created
    code, out, err = cli("monitor", "run", ep)
    assert code != 0 and "No monitor 'default'" in out + err and "Traceback" not in out + err
