"""Endpoint health and Retry now in Chromium, against the real ``hookline serve --dev``, its
dispatcher and a recording receiver: an endpoint failing every attempt shows as failing while
its deliveries are still being retried; Retry now sends the next attempt at once (through a
portal link, as a customer would) and makes no new delivery."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.browser import sign_in
from support.polling import poll
from support.receiver import Receiver
from support.server import Api, Hookline

pytestmark = pytest.mark.slow

# The first attempt at once, the next an hour later: without Retry now, nothing more in a test.
HOURLY = {"schedule": [0, 3600, 3600]}


def retrying(api: Api, wh_id: str, count: int) -> list[dict[str, Any]]:
    """The webhook's deliveries once ``count`` of them have made a first attempt and wait."""
    return poll(
        lambda: api.get(f"/v1/webhooks/{wh_id}/deliveries"),
        lambda ds: (
            len(ds) == count
            and all(d["status"] == "pending" and d["attemptCount"] == 1 for d in ds)
        ),
        what=f"{count} deliveries waiting for their second attempt",
    )


def test_an_endpoint_failing_every_attempt_shows_as_failing_while_retried(
    page: Any,
    api: Api,
    hookline: Hookline,
    receiver: Receiver,
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(name="Failing Co")
    down = receiver.endpoint(default=503)
    wh = api.webhook(ws, down.url, name="Orders", events=["order.*"], retryPolicy=HOURLY)
    unreachable = api.webhook(
        ws, "http://127.0.0.1:9/hook", name="Nobody home", events=["lost.*"], retryPolicy=HOURLY
    )
    api.send(ws, "order.created", {"n": 1})
    api.send(ws, "order.created", {"n": 2})
    api.send(ws, "lost.found", {"n": 3})
    retrying(api, wh["id"], 2)
    (lost,) = retrying(api, unreachable["id"], 1)

    sign_in(page, hookline.admin_key or "")
    page.goto(f"/ui/w/{ws}")
    row = page.locator("#webhooks tr", has=page.get_by_role("link", name="Orders"))
    health = row.locator("td.health")
    expect(health).to_have_attribute("data-health", "failing")
    expect(health).to_contain_text("Failing")
    expect(health).to_contain_text("The endpoint answered HTTP 503.")
    expect(health).to_contain_text("2 attempts failed in a row")
    expect(health.locator("svg.spark > title")).to_have_text(
        "0 of 2 attempts succeeded in the last 24 hours (0%)."
    )
    expect(row.locator("td[data-label=Status]")).to_have_text("Active")

    page.goto(f"/ui/webhooks/{wh['id']}")
    expect(page.locator("#health")).to_have_attribute("data-health", "failing")
    expect(page.locator("#success-rate svg > title")).to_have_text(
        "Attempts that succeeded, per hour"
    )

    # An attempt error reads as a sentence, with its code beside it.
    page.goto(f"/ui/deliveries/{lost['id']}")
    error = page.locator("#attempt-1 .attempt-error")
    expect(error.locator(".error-text")).to_have_text(
        "The connection to the endpoint was refused or could not be made."
    )
    expect(error.locator(".error-code")).to_have_text("connect_error")


def test_retry_now_sends_the_next_attempt_at_once_without_a_new_delivery(
    context: Any,
    api: Api,
    receiver: Receiver,
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(name="Fixed Co")
    endpoint = receiver.endpoint(default=500)
    wh = api.webhook(ws, endpoint.url, name="Orders", retryPolicy=HOURLY)
    api.send(ws, "order.created", {"n": 1})
    (dlv,) = retrying(api, wh["id"], 1)
    endpoint.wait(1)

    # The customer fixes their endpoint, opens the portal and retries.
    endpoint.script(default=200)
    link = api.post(f"/v1/workspaces/{ws}/portal-link", {"expiresIn": 600})
    tab = context.new_page()
    tab.goto(link["url"])
    tab.goto(f"/ui/deliveries/{dlv['id']}")
    expect(tab.locator("#next-attempt")).to_contain_text("Attempt 2 of 3")
    expect(tab.locator("#schedule li")).to_have_count(1)
    expect(tab.locator("#schedule li")).to_contain_text("Attempt 3: about 20")
    expect(tab.locator("#attempt-1 h3")).to_contain_text("HTTP 500")

    tab.get_by_role("button", name="Retry now").click()
    expect(tab.get_by_role("status").filter(has_text="Attempt 2 is being sent now")).to_be_visible()
    received = endpoint.wait(2, timeout=10)
    assert [r.status for r in received] == [500, 200]
    assert received[0].delivery == received[1].delivery
    done = poll(
        lambda: api.get(f"/v1/deliveries/{dlv['id']}"),
        lambda d: d["status"] == "succeeded",
        what="the retried delivery succeeded",
    )
    assert done["attemptCount"] == 2
    assert [d["id"] for d in api.get(f"/v1/webhooks/{wh['id']}/deliveries")] == [dlv["id"]]
    expect(tab.locator("h1 .badge")).to_have_text("Succeeded", timeout=15_000)
    expect(tab.get_by_role("button", name="Retry now")).to_have_count(0)

    tab.goto(f"/ui/w/{ws}")
    expect(tab.locator("td.health").first).to_have_attribute("data-health", "healthy")
    expect(tab).to_have_url(re.compile(f"/ui/w/{ws}$"))
