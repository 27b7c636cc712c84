"""The transformation editor on an endpoint's page, in Chromium against a running server:
write code, try it with an event type's example (the result shows, nothing is sent), see a
failure, save it enabled, and the next delivery arrives transformed; switch it off."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.browser import sign_in
from support.polling import poll
from support.receiver import Receiver
from support.server import Api, Hookline

pytestmark = pytest.mark.slow

CODE = """function handler(webhook) {
  webhook.payload = {text: webhook.eventType + " for " + webhook.payload.data.user};
  return webhook;
}"""


def test_write_try_save_and_switch_off_a_transformation(
    page: Any,
    api: Api,
    hookline: Hookline,
    receiver: Receiver,
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace()
    endpoint = receiver.endpoint()
    hook = api.webhook(ws, endpoint.url)
    api.post(
        "/v1/event-types",
        {"name": "user.joined", "example": {"user": "ada"}},
        status=201,
    )
    sign_in(page, hookline.admin_key or "")
    page.goto(f"/ui/webhooks/{hook['id']}")

    editor = page.get_by_label("Code")
    editor.fill("function handler(webhook) { throw new Error('not yet'); }")
    page.get_by_label("Event type to try it with").select_option("user.joined")
    page.get_by_role("button", name="Try with this event type's example").click()
    expect(page.locator('[data-test="transformation-error"]')).to_contain_text("not yet")

    page.get_by_label("Code").fill(CODE)
    page.get_by_role("button", name="Try with this event type's example").click()
    body = page.locator('[data-test="transformed-body"]')
    expect(body).to_have_text('{"text":"user.joined for ada"}')
    expect(page.get_by_label("Code")).to_have_value(CODE)  # what was typed stays
    assert api.get(f"/v1/webhooks/{hook['id']}/deliveries") == []  # nothing sent

    page.get_by_role("button", name="Save transformation").click()
    expect(page.get_by_text("Transformation saved.")).to_be_visible()
    saved = api.get(f"/v1/webhooks/{hook['id']}")["transformation"]
    assert saved == {"code": CODE, "enabled": True}
    api.send(ws, "user.joined", {"user": "grace"})
    (got,) = endpoint.wait(1)
    assert json.loads(got.body) == {"text": "user.joined for grace"}

    page.get_by_label("Enabled: run it on every delivery").uncheck()
    page.get_by_role("button", name="Save transformation").click()
    expect(page.get_by_text("Transformation saved.")).to_be_visible()
    assert api.get(f"/v1/webhooks/{hook['id']}")["transformation"]["enabled"] is False
    api.send(ws, "user.joined", {"user": "linus"})
    poll(lambda: endpoint.requests, lambda got: len(got) == 2, what="the second delivery")
    assert json.loads(endpoint.requests[1].body)["data"] == {"user": "linus"}
