"""Cost per 1,000 predictions from live CPU, memory and request counts; idle endpoints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import mainsail
from mainsail.core._capacity import Prices
from mainsail.monitoring._operational import OperationalReport, with_cost


def _report(**kw: object) -> OperationalReport:
    base: dict[str, object] = dict(
        requests=7200, rows=36000, errors=0, error_rate=0.0, throughput_rps=2.0,
        latency_ms={"p50": 3.0, "p90": 5.0, "p99": 9.0}, replicas=2,
        cpu_percent={"a": 50.0, "b": 30.0}, memory_rss_mb={"a": 512.0, "b": 512.0},
        source="sketches",
    )  # fmt: skip
    return OperationalReport.model_validate({**base, **kw})


def test_cost_is_the_live_usage_at_the_prices_over_the_predictions_served() -> None:
    prices = Prices(vcpu_hour=0.05, gb_hour=0.01, replica_hour=0.02, currency="EUR")
    r = with_cost(_report(), prices, window_s=3600)
    hourly = 0.8 * 0.05 + 1.0 * 0.01 + 2 * 0.02  # 0.8 cores, 1 GB, 2 replicas
    assert r.cost_per_hour == pytest.approx(hourly)
    assert r.cost_per_1k == pytest.approx(hourly / 36000 * 1000)  # 36,000 rows in the hour
    assert not r.idle and r.currency == "EUR"
    s = r.scores()
    assert s["operational.cost_per_1k"] == pytest.approx(r.cost_per_1k)
    assert s["operational.idle"] == 0.0
    assert "EUR per 1,000 predictions" in r.summary()
    # no request in the window: idle, and a cost per hour with nothing to divide it by
    idle = with_cost(_report(requests=0, rows=0, throughput_rps=0.0), prices, 3600)
    assert idle.idle and idle.cost_per_1k is None and idle.cost_per_hour == pytest.approx(hourly)
    assert idle.scores()["operational.idle"] == 1.0 and "IDLE" in idle.summary()
    # the prediction-log source has no CPU or memory: no cost, no guess
    log = with_cost(_report(cpu_percent={}, memory_rss_mb={}, replicas=0), prices, 3600)
    assert log.cost_per_hour is None and log.cost_per_1k is None


class Doubler(mainsail.PythonModel):
    def predict(self, context: object, X: pd.DataFrame) -> np.ndarray:
        return (X["a"] * 2).to_numpy()


def test_the_monitor_reports_cost_per_1k_and_flags_an_idle_endpoint(
    ctx, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from mainsail.serving import ServeSettings, create_app

    monkeypatch.setenv("MAINSAIL_PRICE_VCPU_HOUR", "2.0")
    monkeypatch.setenv("MAINSAIL_PRICE_GB_HOUR", "0.5")
    mainsail.reset()
    ctx = mainsail.configure(home=str(ctx.settings.resolved_home()))
    assert ctx.settings.price_vcpu_hour == 2.0
    X = pd.DataFrame({"a": np.linspace(0, 2, 50)})
    mainsail.register_model(Doubler(), name="dbl", input_example=X, reference=X, allow_pickle=True)
    mainsail.create_monitor("dbl", checks=["operational"], window="1h")
    run = mainsail.run_monitor("dbl")  # nothing served yet
    assert run.scores["operational.idle"] == 1.0 and "IDLE" in run.summary()
    assert _gauges(ctx)["mainsail_endpoint_idle"] == 1.0  # Prometheus sees it too
    app = create_app(ctx, ServeSettings(model="models:/dbl/1", log_flush_interval=0.2))
    with TestClient(app) as client:
        for _ in range(10):
            r = client.post("/invocations", json={"dataframe_records": [{"a": 1.0}, {"a": 2.0}]})
            assert r.status_code == 200
        plane = client.app.state.plane  # type: ignore[attr-defined]
        plane.predictions.flush()
        plane.sketches.flush()
    run = mainsail.run_monitor("dbl")
    op = run.operational
    assert op is not None and op.requests == 10 and op.rows == 20 and not op.idle
    assert op.memory_rss_mb and op.cost_per_hour is not None and op.cost_per_hour > 0
    # this replica's memory alone, at 0.5 per GB-hour, over 20 predictions in the hour
    mem_cost = sum(op.memory_rss_mb.values()) / 1024 * 0.5
    assert op.cost_per_hour >= mem_cost
    assert op.cost_per_1k == pytest.approx(op.cost_per_hour / 20 * 1000)
    assert run.scores["operational.cost_per_1k"] == pytest.approx(op.cost_per_1k)
    gauges = _gauges(ctx)
    assert gauges["mainsail_endpoint_idle"] == 0.0
    assert gauges["mainsail_cost_per_1k_predictions"] == pytest.approx(op.cost_per_1k)
    assert gauges["mainsail_cost_per_hour"] == pytest.approx(op.cost_per_hour)


def _gauges(ctx: object) -> dict[str, float]:
    from mainsail.monitoring._exposition import samples

    return {name: value for name, labels, value in samples(ctx) if labels.get("endpoint") == "dbl"}  # type: ignore[arg-type]
