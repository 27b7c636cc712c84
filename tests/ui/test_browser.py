"""The admin UI in Chromium against the real ``hookline serve --dev`` and a recording receiver.

Each test sets up its own workspace through the API, then does in the browser what
the Disco seed's Admin Area → Settings → Webhooks describes. With HOOKLINE_SCREENSHOTS=1
the main pages are saved to docs/screenshots/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.browser import DESKTOP, PHONE, shot, sign_in
from support.polling import poll
from support.receiver import Receiver
from support.server import Api, Hookline

pytestmark = pytest.mark.slow


CATALOG = [
    {
        "name": "content.user_completed",
        "category": "content",
        "description": "A member completed a lesson, quiz or assignment.",
        "schema": {
            "type": "object",
            "required": ["user", "content"],
            "properties": {
                "user": {"type": "object", "properties": {"id": {"type": "string"}}},
                "content": {"type": "object", "properties": {"id": {"type": "string"}}},
            },
        },
        "example": {"user": {"id": "usr_1"}, "content": {"id": "cnt_9", "kind": "lesson"}},
    },
    {
        "name": "content.user_completed_quiz",
        "description": "A member finished a quiz, with the score.",
        "example": {"user": {"id": "usr_1"}, "score": 8, "did_pass": True},
    },
    {
        "name": "product.user_completed",
        "description": "A member completed a whole program.",
        "example": {"user": {"id": "usr_1"}, "product": {"id": "prd_2"}},
    },
    {
        "name": "pathway.user_completed",
        "description": "A member completed a pathway.",
        "example": {"user": {"id": "usr_1"}, "pathway": {"id": "pth_3"}},
    },
]


@pytest.fixture(scope="module")
def catalog(api: Api) -> list[dict[str, Any]]:
    for et in CATALOG:
        api.post("/v1/event-types", et, status=201)
    return CATALOG


def settled_all(api: Api, webhook_id: str, count: int) -> list[dict[str, Any]]:
    return poll(
        lambda: api.get(f"/v1/webhooks/{webhook_id}/deliveries"),
        lambda ds: len(ds) >= count and all(d["status"] in ("succeeded", "failed") for d in ds),
        what=f"{count} deliveries settled",
    )


def test_create_an_endpoint_then_show_copy_and_rotate_its_secret(
    page: Any, api: Api, hookline: Hookline, receiver: Receiver, catalog: list[dict[str, Any]]
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(name="Acme Academy")
    sign_in(page, hookline.admin_key or "")
    page.goto(f"/ui/w/{ws}")
    expect(page.get_by_text("No endpoints yet")).to_be_visible()
    page.get_by_role("link", name="+ Add your first endpoint").click()

    # An invalid URL: the service's message, next to the field.
    page.get_by_label("Endpoint URL").fill("ftp://files.example.com/drop")
    page.get_by_label("content.user_completed_quiz").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#url-error")).to_have_text(
        "The URL must be an absolute http:// or https:// URL."
    )
    expect(page.get_by_label("Endpoint URL")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("content.user_completed_quiz")).to_be_checked()
    # A reserved header, then a valid endpoint.
    page.get_by_text("Advanced options").click()
    page.get_by_label("Header 1 name").fill("X-Hookline-Event")
    page.get_by_label("Header 1 value").fill("mine")
    page.get_by_label("Endpoint URL").fill(receiver.endpoint().url)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#headers-error")).to_contain_text("is reserved")
    page.get_by_label("Header 1 name").fill("Authorization")
    page.get_by_label("Header 1 value").fill("Bearer receiver-token")
    page.get_by_label("Name (optional)").fill("CRM sync")
    page.get_by_label("All content events").check()
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/ui/webhooks/wh_[0-9A-Z]{26}$"))
    expect(page.get_by_role("status").filter(has_text="Endpoint created")).to_be_visible()
    wh_id = page.url.rsplit("/", 1)[1]
    created = api.get(f"/v1/webhooks/{wh_id}")
    assert created["name"] == "CRM sync"
    assert created["events"] == ["content.*", "content.user_completed_quiz"]
    assert created["headers"] == {"Authorization": "Bearer receiver-token"}

    # Show/Hide and Copy the signing secret.
    secret = api.get(f"/v1/webhooks/{wh_id}/secret")["secret"]
    field = page.get_by_role("textbox", name="Signing secret")
    expect(field).to_have_attribute("type", "password")
    page.get_by_role("button", name="Show").click()
    expect(field).to_have_attribute("type", "text")
    expect(field).to_have_value(secret)
    page.get_by_role("button", name="Hide").click()
    expect(field).to_have_attribute("type", "password")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret

    # Rotate with a grace period: a new secret, the old one still signing for an hour.
    page.locator("summary", has_text="Rotate secret").click()
    page.get_by_label("Keep signing with the old secret too for").select_option(label="1 hour")
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.get_by_text("The old secret also signs deliveries until")).to_be_visible()
    rotated = api.get(f"/v1/webhooks/{wh_id}/secret")["secret"]
    assert rotated != secret
    page.get_by_role("button", name="Show").click()
    expect(field).to_have_value(rotated)


def test_send_logs_search_attempts_resend_and_recover(
    page: Any, api: Api, hookline: Hookline, receiver: Receiver, catalog: list[dict[str, Any]]
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(name="Acme Academy")
    endpoint = receiver.endpoint([200, 200, 500])
    wh = api.webhook(
        ws,
        endpoint.url,
        name="CRM sync",
        events=["content.*", "product.*"],
        retryPolicy={"schedule": [0]},
    )
    api.webhook(
        ws,
        "https://hooks.slack.example/services/T00/B00",
        name="Slack celebrations",
        events=["content.user_completed"],
        status="disabled",
    )
    api.webhook(
        ws,
        "https://leaderboard.example.com/hooks",
        name="Leaderboard",
        events=["pathway.*", "content.*"],
        status="paused",
    )
    sent = []
    for n, (kind, data) in enumerate(
        [
            ("content.user_completed", {"user": {"id": "usr_ada"}, "content": {"id": "cnt_1"}}),
            ("product.user_completed", {"user": {"id": "usr_bob"}, "product": {"id": "prd_7"}}),
            ("content.user_completed", {"user": {"id": "usr_cy"}, "content": {"id": "cnt_2"}}),
            ("content.user_completed_quiz", {"user": {"id": "usr_dee"}, "score": 9}),
        ],
        start=1,
    ):
        sent.append(api.send(ws, kind, data, id=f"evt_lesson_{ws[-6:]}_{n}"))
        endpoint.wait(n)
        settled_all(api, wh["id"], n)
    target = sent[1]["id"]

    sign_in(page, hookline.admin_key or "")
    page.goto(f"/ui/w/{ws}")
    table = page.locator("#webhooks")
    expect(table.get_by_role("row")).to_have_count(4)
    expect(table.get_by_role("row", name=re.compile("Slack celebrations"))).to_contain_text(
        "Disabled"
    )
    expect(table.get_by_role("row", name=re.compile("Leaderboard"))).to_contain_text("Paused")
    expect(table.get_by_role("row", name=re.compile("CRM sync"))).to_contain_text("Active")
    shot(page, "webhooks")

    page.get_by_role("link", name="CRM sync").click()
    summary = page.locator("p.summary")
    expect(summary).to_contain_text("3 succeeded")
    expect(summary).to_contain_text("1 failed")
    expect(summary).to_contain_text("over 4 attempts")
    expect(page.locator("#outcomes-d")).to_have_text(
        "4 deliveries in the last 24 hours: 3 succeeded, 1 failed, 0 in progress."
    )
    expect(page.get_by_role("textbox", name="Signing secret")).to_have_attribute("type", "password")
    shot(page, "webhook")
    page.get_by_role("link", name="Send Logs").first.click()
    logs = page.locator("#send-logs tbody tr")
    expect(logs).to_have_count(4)
    expect(logs.filter(has_text="failed")).to_have_count(1)
    shot(page, "send-logs")

    # Find one delivery by its event id; open its attempts.
    page.get_by_label("Search").fill(target)
    page.get_by_role("button", name="Filter").click()
    expect(logs).to_have_count(1)
    expect(logs.first).to_contain_text(target)
    page.get_by_role("link", name="product.user_completed").click()
    expect(
        page.get_by_role("heading", name=re.compile("Attempt 1 — succeeded, HTTP 200"))
    ).to_be_visible()
    expect(page.locator("[data-event-id]")).to_have_text(target)
    expect(page.get_by_text("answered 200")).to_be_visible()
    expect(page.get_by_role("rowheader", name="X-Hookline-Delivery")).to_be_visible()
    expect(page.get_by_text('"usr_bob"').first).to_be_visible()
    original = page.url.rsplit("/", 1)[1]
    shot(page, "delivery")

    # Resend: a new delivery of the same event, tagged Resent, linked to the original.
    page.get_by_role("button", name="Resend").click()
    expect(page).not_to_have_url(re.compile(original + "$"))
    expect(page.get_by_role("status").filter(has_text="Resent:")).to_be_visible()
    expect(page.locator("[data-resent-from]")).to_have_text(original)
    expect(page.locator("h1 .tag-resent")).to_have_text("Resent")
    resent = page.url.rsplit("/", 1)[1]
    got = endpoint.wait(5)
    assert got[-1].headers["X-Hookline-Delivery"] == target
    page.get_by_role("link", name="Send Logs").click()
    page.get_by_label("Search").fill(target)
    page.get_by_role("button", name="Filter").click()
    expect(logs).to_have_count(2)
    row = logs.filter(has_text="Resent")
    expect(row).to_have_attribute("data-delivery", resent)
    row.get_by_role("link", name=original).click()
    expect(page.get_by_role("link", name=resent)).to_be_visible()

    # Bulk recover: every failed delivery since a time, sent again as Recovered.
    page.goto(f"/ui/webhooks/{wh['id']}/logs")
    page.locator("summary", has_text="Recover failed deliveries").click()
    page.get_by_label("Since (UTC)").fill("2020-01-01T00:00:00")
    page.get_by_role("button", name="Recover").click()
    expect(
        page.get_by_text("1 delivery sent again as new deliveries tagged Recovered.")
    ).to_be_visible()
    expect(logs.filter(has_text="Recovered")).to_have_count(1)
    endpoint.wait(6)


def test_disable_shows_who_and_when_and_blocks_resend(
    page: Any, api: Api, hookline: Hookline, receiver: Receiver
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(name="Disable Co")
    endpoint = receiver.endpoint()
    wh = api.webhook(ws, endpoint.url, name="Orders")
    api.send(ws, "order.created", {"n": 1})
    (dlv,) = settled_all(api, wh["id"], 1)

    sign_in(page, hookline.admin_key or "")
    page.goto(f"/ui/w/{ws}")
    page.get_by_text("Actions for Orders").click()
    page.get_by_role("button", name="Disable endpoint").click()
    expect(page.get_by_text("Endpoint disabled: no new events are sent to it.")).to_be_visible()
    banner = page.locator("#status-banner")
    expect(banner).to_contain_text("Disabled by the admin key on 20")
    expect(banner).to_contain_text("UTC")
    changed = api.get(f"/v1/webhooks/{wh['id']}")
    assert changed["statusChangedBy"] == "admin"
    assert changed["statusChangedAt"][:16].replace("T", " ") in banner.inner_text()

    page.goto(f"/ui/deliveries/{dlv['id']}")
    expect(page.get_by_text("Resend is blocked: the endpoint is disabled.")).to_be_visible()
    expect(page.get_by_role("button", name="Resend")).to_be_disabled()
    assert len(api.get(f"/v1/webhooks/{wh['id']}/deliveries")) == 1

    page.get_by_role("link", name="Orders").first.click()
    page.get_by_text("Actions for Orders").click()
    page.get_by_role("button", name="Enable endpoint").click()
    expect(page.locator("#status-banner")).to_have_count(0)
    assert api.get(f"/v1/webhooks/{wh['id']}")["status"] == "active"


def test_after_resend_the_new_delivery_shows_its_progress(
    page: Any, api: Api, hookline: Hookline, receiver: Receiver
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(name="Resend Co")
    endpoint = receiver.endpoint()
    wh = api.webhook(ws, endpoint.url, name="Orders")
    api.send(ws, "order.created", {"n": 1})
    (dlv,) = settled_all(api, wh["id"], 1)
    endpoint.hold(3.0)

    sign_in(page, hookline.admin_key or "")
    page.goto(f"/ui/deliveries/{dlv['id']}")
    expect(page.get_by_text("receiver that de-duplicates by it ignores the resend")).to_be_visible()
    page.get_by_role("button", name="Resend").click()
    expect(page).not_to_have_url(re.compile(dlv["id"] + "$"))
    expect(page.get_by_role("status").filter(has_text="Resent:")).to_be_visible()
    resend = page.get_by_role("button", name="Resend")
    expect(resend).to_be_disabled()
    expect(page.get_by_text("This page refreshes itself")).to_be_visible()
    # Without a reload, the page follows the delivery until it has succeeded.
    expect(page.locator("h1 .badge")).to_have_text("Succeeded", timeout=15_000)
    expect(resend).to_be_enabled()
    expect(page.locator("[data-refresh]")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="Resent:")).to_be_visible()


def test_test_ping_shows_status_duration_and_error(
    page: Any, api: Api, hookline: Hookline, receiver: Receiver
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(name="Ping Co")
    good = api.webhook(ws, receiver.endpoint().url, name="Good")
    bad = api.webhook(ws, receiver.endpoint(default=503).url, name="Down")
    sign_in(page, hookline.admin_key or "")

    page.goto(f"/ui/webhooks/{good['id']}")
    page.get_by_role("button", name="Send test ping").click()
    result = page.locator("#test .result")
    expect(result).to_contain_text("Delivered")
    expect(result.locator("[data-test=status-code]")).to_have_text("200")
    expect(result.locator("[data-test=duration]")).to_have_text(re.compile(r"^\d+ ms$"))

    page.goto(f"/ui/webhooks/{bad['id']}")
    page.get_by_role("button", name="Send test ping").click()
    expect(result).to_contain_text("Failed")
    expect(result.locator("[data-test=status-code]")).to_have_text("503")


def test_the_event_catalog_by_category(
    page: Any, hookline: Hookline, catalog: list[dict[str, Any]], api: Api
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(name="Catalog Co")
    sign_in(page, hookline.admin_key or "")
    page.goto(f"/ui/w/{ws}")
    page.get_by_role("link", name="Event catalog").click()
    for category in ("Content", "Pathway", "Product"):
        expect(page.get_by_role("heading", name=category, exact=True)).to_be_visible()
    card = page.locator("article", has_text="content.user_completed_quiz")
    expect(card.get_by_text('"did_pass": true')).to_be_visible()
    first = page.locator("article").filter(
        has=page.get_by_role("heading", name="content.user_completed", exact=True)
    )
    first.get_by_text("Schema").click()
    expect(first.get_by_text('"required"')).to_be_visible()
    shot(page, "catalog")


def test_a_portal_link_opens_one_workspace_only(
    context: Any, api: Api, receiver: Receiver, hookline: Hookline
) -> None:
    from playwright.sync_api import expect

    mine = api.workspace(name="Customer One")
    other = api.workspace(name="Customer Two")
    api.webhook(mine, receiver.endpoint().url, name="Our CRM", events=["content.*"])
    foreign = api.webhook(other, receiver.endpoint().url, name="Their CRM")
    link = api.post(f"/v1/workspaces/{mine}/portal-link", {"expiresIn": 600})

    page = context.new_page()
    page.goto(link["url"])
    expect(page).to_have_url(re.compile(f"/ui/w/{mine}$"))
    expect(page.get_by_text("Portal · Customer One")).to_be_visible()
    expect(page.get_by_role("link", name="Our CRM")).to_be_visible()
    expect(page.get_by_role("link", name="Workspaces")).to_have_count(0)
    shot(page, "portal")
    for path in (f"/ui/w/{other}", f"/ui/webhooks/{foreign['id']}"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    page.goto("/ui/workspaces")
    expect(page).to_have_url(re.compile(f"/ui/w/{mine}$"))


def test_phone_width_and_keyboard(
    browser: Any, api: Api, hookline: Hookline, receiver: Receiver
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(name="Phone Co")
    endpoint = receiver.endpoint()
    wh = api.webhook(ws, endpoint.url, name="Mobile", events=["*"])
    api.send(ws, "course.completed", {"learner": "ada"})
    (dlv,) = settled_all(api, wh["id"], 1)
    ctx = browser.new_context(base_url=hookline.base_url, viewport=PHONE, has_touch=True)
    try:
        page = ctx.new_page()
        sign_in(page, hookline.admin_key or "")
        for path in (
            f"/ui/w/{ws}",
            f"/ui/webhooks/{wh['id']}",
            f"/ui/webhooks/{wh['id']}/logs",
            f"/ui/deliveries/{dlv['id']}",
            f"/ui/w/{ws}/webhooks/new",
        ):
            page.goto(path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at phone width"
        page.goto(f"/ui/w/{ws}")
        shot(page, "phone")
        # The action menu opens and works from the keyboard.
        menu = page.get_by_text("Actions for Mobile")
        menu.focus()
        page.keyboard.press("Enter")
        disable = page.get_by_role("button", name="Disable endpoint")
        expect(disable).to_be_visible()
        page.keyboard.press("Escape")
        expect(disable).to_be_hidden()
        page.keyboard.press("Enter")
        disable.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#status-banner")).to_contain_text("Disabled")
    finally:
        ctx.close()


def test_send_logs_fit_a_phone_with_long_ids(
    browser: Any, api: Api, hookline: Hookline, receiver: Receiver
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(name="Long Ids Co")
    endpoint = receiver.endpoint()
    wh = api.webhook(ws, endpoint.url, name="Long", events=["*"])
    long_id = "evt_" + "0123456789abcdef" * 7
    kind = "learning_management.enrollment_certificate_awarded_to_member"
    api.send(ws, kind, {"n": 1}, id=long_id)
    (dlv,) = settled_all(api, wh["id"], 1)
    api.post(f"/v1/deliveries/{dlv['id']}/resend", {}, status=202)
    settled_all(api, wh["id"], 2)
    ctx = browser.new_context(base_url=hookline.base_url, viewport=PHONE, has_touch=True)
    try:
        page = ctx.new_page()
        sign_in(page, hookline.admin_key or "")
        page.goto(f"/ui/webhooks/{wh['id']}/logs")
        expect(page.locator("#send-logs tbody tr")).to_have_count(2)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shown = page.locator("#send-logs [data-event-id]").first
        expect(shown).to_have_attribute("title", long_id)
        box = shown.bounding_box()
        assert box and box["x"] + box["width"] <= PHONE["width"]
        assert_dates_fit(page)
        shot(page, "send-logs-phone")
        page.set_viewport_size(DESKTOP)
        assert_dates_fit(page)
    finally:
        ctx.close()


# The widest a filled-in datetime-local field shows (en-US), plus room for its picker icon.
DATE_TEXT_WIDTH = """e => {
  const probe = document.createElement("span");
  probe.style.font = getComputedStyle(e).font;
  probe.style.whiteSpace = "pre";
  probe.style.position = "absolute";
  probe.textContent = "12/28/2026, 10:11:12 PM";
  document.body.appendChild(probe);
  const needed = probe.getBoundingClientRect().width + 36;
  probe.remove();
  const style = getComputedStyle(e);
  const inner = e.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return [inner, needed];
}"""


def assert_dates_fit(page: Any) -> None:
    width = page.viewport_size["width"]
    for name in ("f-since", "f-until"):
        field = page.locator(f"#{name}")
        field.fill("2026-12-28T22:11:12")
        box = field.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
        inner, needed = field.evaluate(DATE_TEXT_WIDTH)
        assert inner >= needed, f"{name} is {inner}px wide at {width}px, its date needs {needed}px"


def test_a_filter_and_oauth2_auth_from_the_form_shown_without_the_secret(
    page: Any, api: Api, hookline: Hookline, receiver: Receiver
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(name="Filters")
    sign_in(page, hookline.admin_key or "")
    page.goto(f"/ui/w/{ws}/webhooks/new")
    page.get_by_label("Endpoint URL").fill(receiver.endpoint().url)
    page.get_by_label("Every event").check()
    page.get_by_text("Advanced options").click()
    # Only the chosen kind's fields are shown.
    expect(page.get_by_label("Client secret")).to_be_hidden()
    page.get_by_label("Kind").select_option(label="OAuth 2.0 client credentials")
    expect(page.get_by_label("Client secret")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_hidden()
    page.get_by_label("Token URL").fill("https://login.example.com/oauth/token")
    page.get_by_label("Client ID").fill("hookline-app")
    page.get_by_label("Client secret").fill("cs-never-shown")
    page.get_by_label("Payload filter (optional)").fill('{"path": "$.total", "gte": "100"}')
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#filter-error")).to_contain_text("$.gte")
    # The secret is not sent back to the page: it is typed again.
    page.get_by_label("Client secret").fill("cs-never-shown")
    page.get_by_label("Payload filter (optional)").fill('{"path": "$.total", "gte": 100}')
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/ui/webhooks/wh_[0-9A-Z]{26}$"))

    expect(page.locator("[data-test=auth]")).to_contain_text("client hookline-app")
    expect(page.locator("[data-test=filter]")).to_contain_text('"gte": 100')
    assert "cs-never-shown" not in page.content()
    wh_id = page.url.rsplit("/", 1)[1]
    stored = api.get(f"/v1/webhooks/{wh_id}")
    assert stored["filter"] == {"path": "$.total", "gte": 100}
    assert stored["auth"]["clientId"] == "hookline-app"

    # Editing without typing the secret again keeps it.
    page.get_by_role("link", name="Edit endpoint").click()
    expect(page.get_by_label("Client ID")).to_have_value("hookline-app")
    expect(page.get_by_label("Client secret")).to_have_value("")
    page.get_by_label("Scope (optional)").fill("hooks")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("[data-test=auth]")).to_contain_text("scope hooks")
    assert "cs-never-shown" not in page.content()
