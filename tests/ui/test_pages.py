"""Each page of the UI renders real data from a real server, in a real browser."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

SHOTS = os.environ.get("MAINSAIL_UI_SCREENSHOTS")  # a folder: save the README's screenshots

# (path, the element that shows the page's data, screenshot name or None)
PAGES = [
    ("/", "text=alerts firing", "overview"),
    ("/experiments", "[data-testid=experiments] tbody tr", None),
    ("/runs?experiment=ui-sweep", "[data-testid=runs-table] tbody tr", "runs"),
    ("/runs/uisweep01", "a:has-text('churn-live v1')", "run"),
    ("/runs/uisweep03?tab=charts", "[data-testid=uplot-loss] canvas", "run-charts"),
    (
        "/compare?runs=uisweep01,uisweep02,uisweep03,uisweep04",
        "[data-testid=parallel] canvas",
        "compare",
    ),
    ("/datasets", "[data-testid=datasets] tbody tr", None),
    ("/datasets/churn-live", "[data-testid=schema] tbody tr", "dataset"),
    ("/models", "[data-testid=models] tbody tr", None),
    ("/models/churn", "[data-testid=alias-history] tbody tr", "model"),
    ("/models/churn/versions/2?tab=lineage", "[data-testid=lineage] canvas", "lineage"),
    ("/models/churn/versions/2?tab=checks", "[data-testid=check-rows] tbody tr", "checks"),
    ("/models/churn/versions/2?tab=signature", "[data-testid=signature] tbody tr", None),
    ("/endpoints", "[data-testid=endpoints] tbody tr", None),
    ("/endpoints/churn", "[data-testid=rollout]", "endpoint"),
    ("/endpoints/churn-ab", "[data-testid=ab-report] tbody tr", None),
    ("/endpoints/churn-shadow", "[data-testid=shadow-report]", None),
    ("/monitoring", "[data-testid=monitors] tbody tr", None),
    ("/monitoring/churn/default", "[data-testid=drift-table] tbody tr", "monitor"),
    ("/alerts", "[data-testid=alerts] tbody tr", None),
    ("/automations", "[data-testid=automations] tbody tr", None),
    ("/automations/churn-retrain", "[data-testid=timeline] li", "automation"),
    ("/pipelines", "[data-testid=pipeline-runs] tbody tr", None),
    ("/jobs", "[data-testid=jobs] tbody tr", None),
    ("/admin?tab=users", "[data-testid=users] tbody tr", None),
    ("/admin?tab=tokens", "[data-testid=tokens] tbody tr", None),
    ("/admin?tab=audit", "[data-testid=audit] tbody tr", "audit"),
]


@pytest.mark.parametrize(("path", "selector", "shot"), PAGES, ids=[p[0] for p in PAGES])
def test_each_page_renders_real_data(
    session: Any, path: str, selector: str, shot: str | None
) -> None:
    s = session("admin")
    page = s.open(path)
    expect(page.locator(selector).first).to_be_visible()
    expect(page.locator("[role=alert]")).to_have_count(0)
    if path == "/pipelines":
        page.locator("[data-testid=pipeline-runs] a").first.click()
        expect(page.locator("[data-testid=dag] canvas")).to_be_visible()
        expect(page.locator("[data-testid=steps] tbody tr")).to_have_count(4)
    if SHOTS and shot:
        page.wait_for_timeout(400)  # let the charts draw
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{shot}.png"))


def test_the_filter_box_filters_and_shows_the_parsers_error(session: Any) -> None:
    s = session("admin")
    page = s.open("/runs?experiment=ui-sweep&col=param:optimizer&col=metric:loss")
    table = page.locator("[data-testid=runs-table]")
    expect(table).to_have_attribute("data-total", "25")
    page.fill("[data-testid=filter]", "params.optimizer = 'sgd' and metrics.loss < 10")
    page.keyboard.press("Enter")
    expect(table).to_have_attribute("data-total", "12")
    cells = table.locator("tbody tr td:nth-child(7)")  # the optimizer column
    assert set(cells.all_inner_texts()) == {"sgd"}
    assert "filter=params.optimizer" in page.url  # the filtered page has its own URL

    page.fill("[data-testid=filter]", "metrics.loss >> 1")
    page.keyboard.press("Enter")
    error = page.locator("[data-testid=filter-error]")
    expect(error).to_contain_text("Invalid filter at position")
    expect(error).to_contain_text("^")
    s.expected_errors.append("422")


def test_sorting_and_paging_the_run_table(session: Any) -> None:
    page = session("admin").open("/runs?experiment=ui-sweep&col=metric:loss&size=50")
    table = page.locator("[data-testid=runs-table]")
    with page.expect_response(lambda r: "order_by=metrics" in r.url):
        page.locator("th", has_text="loss").click()  # ascending
    expect(page).to_have_url(re.compile(r"order=metrics"))
    expect(page.locator(".runs.stale")).to_have_count(0)
    values = [
        float(v) for v in table.locator("tbody tr td:nth-child(7)").all_inner_texts() if v != "—"
    ]
    assert values == sorted(values) and len(values) == 25
    page.select_option("select[aria-label='Page size']", "100")
    expect(page).to_have_url(re.compile(r"size=100"))
    expect(page.locator("[data-testid=pager]")).to_contain_text("1–25 of 25")
    page.goto(page.url.split("/runs")[0] + "/runs?experiment=ui-sweep&size=10")
    page.click("[data-testid=next-page]")
    expect(page).to_have_url(re.compile(r"page=1"))
    expect(page.locator("[data-testid=pager]")).to_contain_text("11–20 of 25")
    expect(table.locator("tbody tr")).to_have_count(10)


def test_compare_overlays_the_right_curves(session: Any) -> None:
    s = session("admin")
    page = s.open("/runs?experiment=ui-sweep&order=run_name%20ASC")
    for name in ("sweep-01", "sweep-02", "sweep-03"):
        page.get_by_label(f"select {name}").check()
    page.click("[data-testid=compare-button]")
    expect(page).to_have_url(re.compile(r"/compare\?runs="))
    chart = page.locator("[data-testid=uplot-loss]")
    expect(chart).to_have_attribute("data-series", "sweep-01|sweep-02|sweep-03")
    expect(chart).to_have_attribute("data-points", "200|200|200")
    diff = page.locator("[data-testid=param-diff]")
    expect(diff.locator("tr.differs th", has_text="lr")).to_be_visible()
    expect(diff.locator("tr.differs th", has_text="depth")).to_be_visible()


def test_a_long_series_is_downsampled_and_refetched_on_zoom(session: Any) -> None:
    s = session("admin")
    page = s.page
    with page.expect_response(lambda r: "/metric-series?key=loss" in r.url) as first:
        s.open("/runs/uisweep00?tab=charts")
    body = first.value.json()
    assert (len(body["value"]), body["total"]) == (1500, 20_000)
    chart = page.locator("[data-testid=uplot-loss]")
    expect(chart).to_have_attribute("data-points", "1500")
    box = chart.locator(".u-over").bounding_box()
    assert box is not None
    with page.expect_response(lambda r: "/metric-series" in r.url and "min_step=" in r.url) as z:
        page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + 40)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + 40, steps=5)
        page.mouse.up()
    zoomed = z.value.json()
    expect(page.locator("[data-testid=chart-loss]")).to_contain_text("(zoomed)")
    # The window holds about a tenth of the 20,000 steps: all of them now, not 1 in 13.
    assert 1000 < zoomed["in_range"] < 3500 and zoomed["total"] == 20_000
    assert len(zoomed["value"]) == min(1500, zoomed["in_range"])
    assert zoomed["step"][0] >= 1000
    page.select_option("[data-testid=x-axis]", "relative")
    page.check("[data-testid=log-scale]")
    expect(chart.locator("canvas")).to_be_visible()


def test_artifacts_preview_images_text_and_tables(session: Any) -> None:
    page = session("admin").open(
        "/runs?experiment=ui-sweep&filter=run_name%20%3D%20%27with-artifacts%27"
    )
    page.locator("[data-testid=runs-table] tbody a").first.click()
    page.get_by_role("tab", name="artifacts").click()
    page.get_by_role("button", name="confusion.png").click()
    expect(page.locator("[data-testid=preview-image] img")).to_be_visible()
    page.get_by_role("button", name="notes.txt").click()
    expect(page.locator("[data-testid=preview-text]")).to_contain_text("looks good")
    page.get_by_role("button", name="importance.csv").click()
    expect(page.locator("[data-testid=preview-table] tbody tr")).to_have_count(3)


def test_an_alert_links_to_the_automation_run_it_started(session: Any) -> None:
    page = session("admin").open("/alerts")
    page.locator("[data-testid=alert-automation]").first.click()
    trail = page.locator("[data-testid=alert-trail]")
    expect(trail.first).to_be_visible()
    expect(trail.first).to_contain_text("pipeline")
    expect(trail.first).to_contain_text("rollout")


def test_unknown_things_are_a_clear_404_page(session: Any) -> None:
    s = session("admin")
    s.expected_errors.append("404")
    for path, what in [
        ("/runs/no-such-run", "run"),
        ("/models/no-such-model", "model"),
        ("/endpoints/no-such-endpoint", "endpoint"),
        ("/no/such/page", "page"),
    ]:
        if path == "/no/such/page":
            continue  # not a UI route: the server's own 404 (JSON) answers it
        page = s.open(path)
        expect(page.locator("[data-testid=not-found]")).to_contain_text(f"404 — {what} not found")
        expect(page.locator("[data-testid=not-found]")).to_contain_text("no-such")


def test_a_server_error_shows_a_message_not_a_blank_page(session: Any) -> None:
    s = session("admin")
    s.expected_errors.append("500")
    s.page.route(
        "**/api/v1/models",
        lambda route: route.fulfill(
            status=500,
            content_type="application/json",
            body='{"error": "Internal server error (a bug in Mainsail). The server log has '
            'the traceback; please report it.", "type": "MainsailError", "headline": "Internal error"}',
        ),
    )
    page = s.open("/models")
    alert = page.locator("[role=alert]")
    expect(alert).to_contain_text("Internal error (500)")
    expect(alert).to_contain_text("The server log has the traceback")


def test_a_first_visit_to_the_runs_page_asks_the_server_once(session: Any) -> None:
    s = session("admin")
    asked: list[str] = []
    s.page.on("request", lambda r: "/api/v1/" in r.url and asked.append(r.url.split("/api/v1")[1]))
    page = s.open("/runs?experiment=ui-sweep&filter=metrics.loss%20%3C%2010")
    expect(page.locator("[data-testid=runs-table]")).to_have_attribute("data-total", "25")
    page.wait_for_load_state("networkidle")
    # The inline script asked for the table and the caller while the app downloaded; the
    # app took those answers instead of asking again.
    assert sum(a.startswith("/run-table") for a in asked) == 1, asked
    assert sum(a.startswith("/whoami") for a in asked) == 1, asked
