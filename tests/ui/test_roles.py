"""Tokens and roles in the UI: login and logout, what a viewer sees, a deployer's buttons."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect


def test_logging_in_and_out_with_a_token(session: Any, world: Any) -> None:
    s = session(None)
    s.expected_errors.append("401")
    page = s.open("/models/churn")
    form = page.locator("[data-testid=login-form]")
    expect(form).to_be_visible()
    page.fill("input[name=token]", "ms_not-a-real-token")
    page.click("button[type=submit]")
    expect(form.locator("[role=alert]")).to_contain_text("unknown, revoked or expired")
    page.fill("input[name=token]", world.tokens["viewer"])
    page.click("button[type=submit]")
    expect(page.locator("[data-testid=whoami]")).to_contain_text("vera")
    expect(page.locator("[data-testid=model-versions]")).to_be_visible()  # the page asked for
    page.reload()
    expect(page.locator("[data-testid=whoami]")).to_contain_text("vera")  # the token is kept
    page.click("[data-testid=logout]")
    expect(page.locator("[data-testid=login-form]")).to_be_visible()
    assert page.evaluate("localStorage.getItem('mainsail.token')") is None
    page.goto(world.url + "/endpoints")
    expect(page.locator("[data-testid=login-form]")).to_be_visible()


def test_a_viewer_sees_no_mutating_control_and_a_forged_call_gets_403(
    session: Any, world: Any
) -> None:
    s = session("viewer")
    page = s.open("/endpoints/churn")
    expect(page.locator("[data-testid=rollout]")).to_be_visible()
    expect(page.locator("[data-testid=steer]")).to_have_count(0)
    expect(page.locator("button[data-action]")).to_have_count(0)
    page.goto(world.url + "/monitoring/churn/default")
    expect(page.locator("[data-testid=drift-table]")).to_be_visible()
    expect(page.locator("[data-testid=run-monitor]")).to_have_count(0)
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    page.goto(world.url + "/admin")
    expect(page.locator("[data-testid=not-admin]")).to_be_visible()
    s.expected_errors.append("403")
    status = page.evaluate(
        """async () => (await fetch('/api/v1/endpoints/churn/rollout/pause', {method: 'POST',
             headers: {Authorization: 'Bearer ' + localStorage.getItem('mainsail.token')}})).status"""
    )
    assert status == 403
    assert world.api("admin")("GET", "/endpoints/churn/rollouts/latest")["state"] != "paused"


def test_a_deployer_steers_the_rollout_and_the_page_follows(session: Any, world: Any) -> None:
    s = session("deployer")
    page = s.open("/endpoints/churn")
    rollout = page.locator("[data-testid=rollout]")
    expect(rollout).to_have_attribute("data-state", re.compile("pending|progressing"))
    page.click("button[data-action=pause]")
    expect(rollout).to_have_attribute("data-state", "paused")
    assert world.api("admin")("GET", "/endpoints/churn/rollouts/latest")["state"] == "paused"
    expect(page.locator("button[data-action=pause]")).to_be_disabled()
    page.click("button[data-action=resume]")
    expect(rollout).to_have_attribute("data-state", re.compile("pending|progressing"))
    # A change made elsewhere (the CLI, another user) shows without a reload.
    world.api("admin")("POST", "/endpoints/churn/rollout/pause")
    expect(rollout).to_have_attribute("data-state", "paused", timeout=6000)
    world.api("admin")("POST", "/endpoints/churn/rollout/resume")
    page.click("button[data-action=promote]")
    expect(rollout).to_have_attribute("data-state", "promoted")
    expect(page.locator("[data-testid=traffic]")).to_contain_text("v1 · 100%")


def test_an_admin_creates_a_token_and_sees_it_once(session: Any, world: Any) -> None:
    page = session("admin").open("/admin?tab=tokens")
    page.select_option("[data-testid=token-form] select[aria-label=user]", "vera")
    page.fill("[data-testid=token-form] input[placeholder^=name]", "from-the-ui")
    page.click("[data-testid=token-form] button[type=submit]")
    issued = page.locator("[data-testid=issued-token] code")
    expect(issued).to_contain_text("ms_")
    token = issued.inner_text()
    assert (
        world.api("admin")("GET", "/whoami", headers={"Authorization": f"Bearer {token}"})["name"]
        == "vera"
    )
    expect(page.locator("[data-testid=tokens]")).to_contain_text("from-the-ui")
    page.reload()
    expect(page.locator("[data-testid=issued-token]")).to_have_count(0)  # shown once
    page.goto(world.url + "/admin?tab=audit&action=tokens.create")
    expect(page.locator("[data-testid=audit] tbody tr").first).to_contain_text("tokens.create")
