"""``mainsail loadtest`` against real server processes on 127.0.0.1 (short, bounded steps).

The machine is shared and busy: the tests assert what a load test must get right (steps run,
requests counted, the server's workers measured, the curve stored and charted, a rate that
was not delivered said plainly), never how fast this machine is.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mainsail
from mainsail.core._capacity import CapacityCurve, CapacityPoint, curves_of, parse_levels
from mainsail.core._errors import InvalidValueError
from mainsail.serving._capacity_report import chart_svg, render_html
from mainsail.serving._loadtest import plan_steps

from .conftest import ServerProcess, free_port


def _flat(text: str) -> str:
    """Rich wraps messages at the terminal width: compare them as one line."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def shared(
    _registered_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One ``mainsail serve models:/churn@champion`` for the URL tests (they only read)."""
    home = tmp_path_factory.mktemp("loadtest-shared") / "home"
    shutil.copytree(_registered_home, home)
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("MAINSAIL_")]:
            mp.delenv(key)
        server = ServerProcess(home, ["models:/churn@champion", "--no-log"])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def rows_csv(trained: tuple[Any, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("loadtest-rows") / "rows.csv"
    trained[1].head(50).to_csv(path, index=False)
    return path


def test_loadtest_starts_a_server_and_stores_the_curve_on_the_version(
    registered: Any, cli: Any, tmp_path: Path
) -> None:
    chart = tmp_path / "capacity.html"
    code, out, err = cli(
        "loadtest", "models:/churn@champion", "--concurrency", "1,4", "--duration", "1",
        "--warmup", "0.3", "--rows", "3", "--html", str(chart), "--traffic", "50",
        "--p99-ms", "5000",
    )  # fmt: skip
    assert code == 0, err
    assert "Capacity of churn v1" in _flat(out) and "c=1" in _flat(out) and "c=4" in _flat(out)
    assert "Stored on models:/churn/1" in _flat(out)
    [curve] = curves_of(mainsail.get_model_version("models:/churn/1").card)
    assert (curve.model, curve.version, curve.workers, curve.rows_per_request) == ("churn", 1, 1, 3)
    assert [p.concurrency for p in curve.points] == [1, 4]
    for p in curve.points:
        assert p.requests > 0 and p.errors == 0 and p.error_rate == 0.0
        assert p.rps == pytest.approx(p.requests / p.duration_s)
        assert p.rows_per_s == pytest.approx(3 * p.rps)
        assert 0 < p.p50_ms <= p.p99_ms <= p.max_ms  # type: ignore[operator]
        # the server's one worker was measured over the window: it worked, and holds a model
        assert len(p.cpu_percent) == 1 and p.cpu_percent[0] > 0
        assert len(p.memory_mb) == 1 and p.memory_mb[0] > 50
        assert p.generator_cpu_percent is not None and p.shortfall is None
    page = chart.read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "<polyline" in page
    assert "Capacity curve: churn v1" in page
    # sized from this curve: the worker's measured CPU, two replicas at least
    assert "Recommendation: 2 replica(s) of 1 worker(s)" in _flat(out)
    assert "p99 budget 5000 ms" in page and "<h2>Recommendation</h2>" in page


def test_a_url_target_and_a_rate_it_cannot_deliver_is_said_plainly(
    shared: ServerProcess, rows_csv: Path, cli: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)  # the chart goes to build/loadtest/ under the working folder
    code, out, err = cli(
        "loadtest", shared.url, "--data", str(rows_csv), "--rate", "20,50000",
        "--duration", "1.5", "--warmup", "0.3", "--json",
    )  # fmt: skip
    assert code == 0, err
    curve = CapacityCurve.model_validate_json(out)
    slow, fast = curve.points
    assert curve.mode == "rate" and curve.model is None  # nothing to store it on
    # 20/s is delivered (Locust paces it), 50,000/s is not, and the point says so and why
    assert slow.target_rps == 20 and slow.shortfall is None
    assert slow.rps == pytest.approx(20, rel=0.25)
    assert fast.target_rps == 50000 and fast.rps < 45000
    assert fast.shortfall is not None
    assert fast.shortfall.startswith("asked for 50000 requests/s, delivered ")
    assert "load generator was saturated" in fast.shortfall or "server did not keep up" in (
        fast.shortfall
    )
    assert fast.cpu_percent == []  # a URL's server is not ours to measure
    code, out, err = cli(
        "loadtest", shared.url, "--data", str(rows_csv), "--rate", "50000",
        "--duration", "0.5", "--warmup", "0",
    )  # fmt: skip
    assert code == 0, err
    assert "Rate not delivered:" in _flat(out) and "asked for 50000 requests/s" in _flat(out)
    assert "Chart: build/loadtest/capacity.html" in _flat(out)
    assert (tmp_path / "build" / "loadtest" / "capacity.html").is_file()


def test_an_unreachable_target_fails_with_what_to_do(rows_csv: Path, cli: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = cli("loadtest", url, "--data", str(rows_csv), "--duration", "1")
    assert code == 1
    assert f"Could not reach the server at {url}" in _flat(err) and "Connection refused" in _flat(
        err
    )
    assert "mainsail serve" in _flat(err)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duration", "0"], "duration of each step must be a positive number of seconds"),
        (["--duration", "-1"], "Got -1.0"),
        (["--concurrency", "1,x"], "positive whole numbers separated by commas"),
        (["--concurrency", "0"], "Got '0' in '0'"),
        (["--concurrency", "1", "--rate", "5"], "not both"),
        (["--rate", "1.5"], "--rate takes positive whole numbers"),
        (["--rows", "0"], "Rows per request must be 1 or more"),
    ],
)
def test_bad_settings_are_refused_before_anything_starts(
    args: list[str], message: str, cli: Any
) -> None:
    code, out, err = cli("loadtest", "models:/nothing@champion", *args)
    assert code == 1 and message in _flat(err)
    assert "Load test of" not in _flat(out)  # refused before a server was started


def test_a_url_needs_rows(cli: Any) -> None:
    code, _, err = cli("loadtest", "http://127.0.0.1:9", "--duration", "1")
    assert code == 1 and "needs rows to send: give --data FILE" in _flat(err)


def test_rows_of_a_data_file_must_have_the_model_inputs(
    registered: Any, tmp_path: Path, cli: Any
) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"f0": [1.0], "other": [2.0]}).to_csv(bad, index=False)
    code, _, err = cli("loadtest", "models:/churn/1", "--data", str(bad), "--duration", "1")
    assert code == 1 and "lacks the model's input column(s) f1, f2" in _flat(err)
    assert "Its columns are: f0, other" in _flat(err)


def test_plan_steps_for_rates_pace_each_user_at_ten_per_second() -> None:
    assert plan_steps([1, 4], None, 1.0) == [(1, None), (4, None)]
    assert plan_steps(None, None, 1.0) == [(1, None), (4, None), (16, None)]
    assert plan_steps(None, [5.0, 100.0, 1e6], 1.0) == [(2, 5.0), (10, 100.0), (1024, 1e6)]
    assert parse_levels(" 1, 4,16 ") == [1, 4, 16]
    with pytest.raises(InvalidValueError, match="between 1 and 1024"):
        plan_steps([2000], None, 1.0)


def _point(c: int, rps: float, p99: float, errors: int = 0) -> CapacityPoint:
    return CapacityPoint(
        concurrency=c, duration_s=1, requests=int(rps), errors=errors,
        error_rate=errors / (rps + errors), rps=rps, rows_per_s=rps, p50_ms=p99 / 3,
        p99_ms=p99, max_ms=p99 * 1.5, cpu_percent=[80.0, 70.0], memory_mb=[300.0, 310.0],
    )  # fmt: skip


def test_the_capacity_report_charts_every_step_and_the_budget() -> None:
    curve = CapacityCurve(
        target="models:/churn/1", model="churn", version=1, workers=2,
        points=[_point(1, 300, 5), _point(8, 1200, 20), _point(32, 1400, 90, errors=50)],
    )  # fmt: skip
    svg = chart_svg(curve, p99_budget_ms=25)
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 6
    assert "p99 budget 25 ms" in svg and "c=32" in svg
    page = render_html(curve, p99_budget_ms=25)
    assert "80% 70%" in page and "300 310" in page  # CPU and memory of each worker
    # the best point within a budget: fastest with p99 and errors in bounds
    assert curve.best_within(25).concurrency == 8  # type: ignore[union-attr]
    assert curve.best_within(100).concurrency == 8  # c=32 has 3.4% errors
    assert curve.best_within(100, max_error_rate=0.05).concurrency == 32  # type: ignore[union-attr]
    assert curve.best_within(4) is None
    assert curve.points[0].vcpu == 1.5 and curve.points[0].memory_gb == pytest.approx(0.5957, 1e-3)


def test_an_endpoint_target_serves_its_stable_version_apart_from_the_real_endpoint(
    registered: Any, ctx: Any
) -> None:
    from mainsail.monitoring._sources import read_log
    from mainsail.serving._loadtest import load_test

    mainsail.deploy("scoring", "models:/churn/1")
    curve = load_test(ctx, "scoring", concurrency=[4], duration_s=1.0, warmup_s=0.3, workers=2)
    assert (curve.model, curve.version, curve.workers) == ("churn", 1, 2)
    [point] = curve.points
    assert point.requests > 0 and point.errors == 0
    # both workers measured (not uvicorn's supervisor): each holds the model in memory
    assert len(point.cpu_percent) == 2 and sum(point.cpu_percent) > 0
    assert len(point.memory_mb) == 2 and min(point.memory_mb) > 50
    [stored] = curves_of(mainsail.get_model_version("models:/churn/1").card)
    assert stored.workers == 2 and stored.points[0].requests == point.requests
    # the synthetic traffic was logged as endpoint loadtest-churn, never as the real one
    root = ctx.settings.resolved_artifact_root()
    assert read_log(root, "predictions", "scoring", 0, None).empty
    assert len(read_log(root, "predictions", "loadtest-churn", 0, None)) >= point.requests


def test_a_url_target_with_a_version_samples_its_rows_and_stores_the_curve(
    registered: Any, shared: ServerProcess, cli: Any, tmp_path: Path
) -> None:
    code, out, err = cli(
        "loadtest", shared.url, "--version", "models:/churn/1", "--concurrency", "2",
        "--duration", "0.5", "--warmup", "0", "--html", str(tmp_path / "c.html"),
    )  # fmt: skip
    assert code == 0, err
    [curve] = curves_of(mainsail.get_model_version("models:/churn/1").card)
    assert curve.target == shared.url and curve.workers is None  # not ours to count
    [point] = curve.points
    assert point.requests > 0 and point.errors == 0  # the input example's rows were accepted


def test_reference_rows_come_from_the_versions_lineage_dataset(ctx: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    from mainsail.serving._loadtest import _reference_rows, request_bodies

    frame = pd.DataFrame({"a": np.arange(200.0), "b": np.arange(200.0) % 7, "label": 0})
    frame.loc[::2, "label"] = 1
    dv = mainsail.log_dataset(frame, name="train")
    X = frame[["a", "b"]]
    with mainsail.start_run(experiment="lt") as run:
        run.log_input(dv)
    model = LogisticRegression().fit(X, frame["label"])
    mv = mainsail.register_model(model, name="m", run=run, input_example=X.head(3))
    assert mv.datasets == [dv.address]
    rows = _reference_rows(ctx, mv)
    assert list(rows.columns) == ["a", "b"] and len(rows) == 200  # the dataset, not the example
    bodies = request_bodies(rows, rows_per_request=5, n=3)
    split = json.loads(bodies[0])["dataframe_split"]
    assert split["columns"] == ["a", "b"] and len(split["data"]) == 5
