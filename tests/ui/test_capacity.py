"""The model page's capacity tab (the curve ``mainsail loadtest`` stored) and the monitor's cost."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from mainsail.core._capacity import CapacityCurve, CapacityPoint, with_curve


def test_the_capacity_tab_charts_the_stored_load_test(session: Any, world: Any) -> None:
    s = session("admin")
    page = s.open("/models/churn/versions/1?tab=capacity")
    expect(page.locator("[data-testid=no-capacity]")).to_contain_text(
        "mainsail loadtest models:/churn/1"
    )
    points = [
        CapacityPoint(
            concurrency=c,
            duration_s=10,
            requests=int(rps * 10),
            errors=0,
            error_rate=0.0,
            rps=rps,
            rows_per_s=rps,
            p50_ms=p99 / 3,
            p99_ms=p99,
            cpu_percent=[cpu],
            memory_mb=[300.0],
        )  # fmt: skip
        for c, rps, p99, cpu in ((1, 280.0, 12.0, 40.0), (8, 1300.0, 35.0, 97.0))
    ]
    curve = CapacityCurve(
        target="models:/churn/2", model="churn", version=2, workers=1, points=points
    )
    api = world.api()
    card = api("GET", "/models/churn/versions/2")["card"]
    api("PATCH", "/models/churn/versions/2", json={"card": with_curve(card, curve)})
    page = s.open("/models/churn/versions/2?tab=capacity")
    rows = page.locator("[data-testid=capacity-points] tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("c=8")
    expect(rows.nth(1)).to_contain_text("97 %")
    expect(page.locator("[data-testid=capacity-chart] canvas").first).to_be_visible()
    expect(page.locator("[role=alert]")).to_have_count(0)


def test_the_monitor_page_shows_cost_and_idleness(session: Any) -> None:
    page = session("admin").open("/monitoring/churn/default")
    expect(page.locator("text=idle").first).to_be_visible()
    expect(page.locator("[role=alert]")).to_have_count(0)
