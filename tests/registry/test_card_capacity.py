"""The model card's "Capacity and cost" section, from the curves ``mainsail loadtest`` stored."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import mainsail
from mainsail.core._capacity import CapacityCurve, CapacityPoint, Prices, with_curve


def test_the_card_shows_each_curves_peak_and_its_cost_per_1k(ctx: Any, cli: Any) -> None:
    from sklearn.linear_model import LinearRegression

    from mainsail.registry import render_html, render_markdown

    X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) ** 0.5})
    mv = mainsail.register_model(LinearRegression().fit(X, X["a"]), name="m", input_example=X)
    assert "Capacity and cost" not in render_markdown(mv)  # nothing measured yet
    point = CapacityPoint(
        concurrency=8, duration_s=10, requests=5000, errors=0, error_rate=0.0, rps=500.0,
        rows_per_s=1000.0, p50_ms=4.0, p99_ms=12.0, cpu_percent=[50.0], memory_mb=[256.0],
    )  # fmt: skip
    slow = point.model_copy(update={"concurrency": 1, "rps": 100.0, "rows_per_s": 200.0})
    curve = CapacityCurve(
        target=mv.address, model="m", version=1, workers=1, rows_per_request=2,
        points=[slow, point],
    )  # fmt: skip
    ctx.store.update_model_version("m", 1, card=with_curve(mv.card, curve))
    mv = mainsail.get_model_version("models:/m/1")
    md = render_markdown(mv, Prices(vcpu_hour=1.0, gb_hour=0.0, currency="EUR"))
    assert "## Capacity and cost" in md
    # the peak step; 0.5 vCPU at 1 EUR/h over 1,000 predictions/s: 0.5 / 3600 per 1,000
    assert "peak 500 requests/s (1,000 rows/s) at concurrency 8" in md
    assert "p99 12.0 ms" in md and "0.50 vCPU, 256 MB" in md
    assert f"{0.5 / 3600:.3g} EUR per 1,000 predictions at that load" in md
    assert "Capacity and cost" in render_html(mv)
    code, out, _ = cli("models", "card", "models:/m/1")
    assert code == 0 and "USD per 1,000 predictions" in " ".join(out.split())
