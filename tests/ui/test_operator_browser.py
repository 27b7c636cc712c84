"""The operator's pages in Chromium against the real ``hookline serve --dev``: an API key
created, shown once, used and revoked; a portal link issued, copied and opened; a plan
changed and its limit met in the endpoint form."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.browser import DESKTOP, sign_in
from support.server import Api, Hookline

pytestmark = pytest.mark.slow

PLANS = {"free": {"maxWebhooks": 10}, "pro": {"maxWebhooks": None}, "solo": {"maxWebhooks": 1}}


@pytest.fixture(scope="module")
def hookline(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[Hookline]:
    """The UI tests' server, with a plan of a single endpoint among its plans."""
    with Hookline(
        tmp_path_factory.mktemp("hookline-ui"), env={"HOOKLINE_PLANS": json.dumps(PLANS)}
    ).running() as server:
        yield server


def status_with(hookline: Hookline, key: str, ws: str) -> int:
    response = httpx.post(
        f"{hookline.base_url}/v1/workspaces/{ws}/events",
        json={"type": "a.b", "data": {}},
        headers={"Authorization": f"Bearer {key}"},
    )
    return response.status_code


def test_a_key_is_shown_once_works_and_stops_working_when_revoked(
    page: Any, api: Api, hookline: Hookline
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(name="Keyed Academy")
    sign_in(page, hookline.admin_key or "")
    page.goto(f"/ui/w/{ws}")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
    page.get_by_label("Name").fill("Billing service")
    page.get_by_label("Role").select_option("publisher")
    page.get_by_role("button", name="Create key").click()

    expect(page.get_by_text("Copy this key now: it is not shown again.")).to_be_visible()
    shown = page.get_by_label("The new API key")
    key = shown.input_value()
    assert key.startswith("hk_")
    page.locator("#new-key").get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key
    assert status_with(hookline, key, ws) == 202

    page.reload()
    expect(page.get_by_role("cell", name="Billing service", exact=True)).to_be_visible()
    expect(page.get_by_label("The new API key")).to_have_count(0)
    assert key not in page.content()
    assert len(api.get(f"/v1/workspaces/{ws}/api-keys")) == 1
    page.get_by_role("link", name="Revoke Billing service").click()
    expect(page.get_by_role("heading", name="Revoke this API key?")).to_be_visible()
    assert status_with(hookline, key, ws) == 202  # asking changed nothing
    page.get_by_role("button", name="Revoke key").click()
    expect(
        page.get_by_role("status").filter(has_text="API key Billing service revoked")
    ).to_be_visible()
    expect(page.get_by_text("No API keys yet")).to_be_visible()
    assert status_with(hookline, key, ws) == 401


def test_a_portal_link_is_issued_copied_and_opens_the_portal(
    browser: Any, page: Any, api: Api, hookline: Hookline
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(name="Linked Academy")
    sign_in(page, hookline.admin_key or "")
    page.goto(f"/ui/w/{ws}/settings")
    page.get_by_label("Valid for").select_option(label="1 hour")
    page.get_by_role("button", name="Issue portal link").click()
    expect(page.get_by_text("Copy the link now: it is not shown again.")).to_be_visible()
    link = page.get_by_label("The portal link").input_value()
    assert link.startswith(f"{hookline.base_url}/ui/portal/")
    page.locator("#portal").get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link
    page.reload()
    expect(page.get_by_label("The portal link")).to_have_count(0)

    customer = browser.new_context(base_url=hookline.base_url, viewport=DESKTOP)
    try:
        portal = customer.new_page()
        portal.goto(link)
        expect(portal).to_have_url(re.compile(f"/ui/w/{ws}$"))
        expect(portal.get_by_text("Portal · Linked Academy")).to_be_visible()
        expect(portal.get_by_role("link", name="Settings")).to_have_count(0)
        for path in (f"/ui/w/{ws}/settings", f"/ui/w/{ws}/keys"):
            response = portal.goto(path)
            assert response is not None and response.status == 404, path
    finally:
        customer.close()


def test_a_plan_changed_in_the_ui_limits_new_endpoints(
    page: Any, api: Api, hookline: Hookline
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(name="Planned Academy")
    api.webhook(ws, "https://example.com/first")
    sign_in(page, hookline.admin_key or "")
    page.goto(f"/ui/w/{ws}/settings")
    expect(page.locator("[data-plan]")).to_have_text("pro")
    page.get_by_label("Change the plan to").select_option("solo")
    page.get_by_role("button", name="Change plan").click()
    expect(page.get_by_role("status").filter(has_text="on the solo plan now")).to_be_visible()
    expect(page.locator("[data-plan]")).to_have_text("solo")
    assert api.get(f"/v1/workspaces/{ws}")["plan"] == "solo"

    page.goto(f"/ui/w/{ws}/webhooks/new")
    page.get_by_label("Endpoint URL").fill("https://example.com/second")
    page.get_by_label("Every event").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#form-errors")).to_contain_text("plan allows 1 webhooks")
    assert len(api.get(f"/v1/workspaces/{ws}/webhooks")) == 1
