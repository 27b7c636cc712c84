"""The transformation editor on an endpoint's page, in-process: it shows the saved code, saves
and removes it, tries code on an event type's example without sending, and shows a refusal
next to the editor with what was typed kept; a cancelled delivery has its own badge."""

from __future__ import annotations

import re

import pytest

from hookline.dispatch.prepare import prepare
from hookline.dispatch.transform import cancelled_record
from hookline.ids import new_id, now_ms

from .conftest import Ui

CODE = "function handler(w) { w.payload = {who: w.payload.data.user}; return w; }"


@pytest.fixture
async def signed_in(ui: Ui) -> Ui:
    await ui.login()
    await ui.api("POST", "/v1/event-types", 201, json={"name": "u.new", "example": {"user": "a"}})
    return ui


async def webhook_id(ui: Ui) -> str:
    (wh,) = await ui.api("GET", "/v1/workspaces/acme/webhooks")
    return str(wh["id"])


async def test_save_show_and_remove_a_transformation(signed_in: Ui) -> None:
    wh_id = await webhook_id(signed_in)
    page = f"/ui/webhooks/{wh_id}"
    path = f"{page}/transformation"
    saved = await signed_in.post(path, {"code": CODE, "enabled": "on", "action": "save"}, page=page)
    assert saved.status_code == 303
    shown = await signed_in.api("GET", f"/v1/webhooks/{wh_id}")
    assert shown["transformation"] == {"code": CODE, "enabled": True}
    html = (await signed_in.client.get(page)).text
    assert "w.payload = {who: w.payload.data.user}" in html
    assert re.search(r'id="transformation-enabled" checked', html)
    assert '<option value="u.new">u.new</option>' in html

    off = await signed_in.post(path, {"code": CODE, "action": "save"}, page=page)
    assert off.status_code == 303
    assert (await signed_in.api("GET", f"/v1/webhooks/{wh_id}"))["transformation"][
        "enabled"
    ] is False
    removed = await signed_in.post(path, {"code": "  ", "action": "save"}, page=page)
    assert removed.status_code == 303
    assert (await signed_in.api("GET", f"/v1/webhooks/{wh_id}"))["transformation"] is None


async def test_try_shows_the_result_and_sends_nothing(signed_in: Ui) -> None:
    wh_id = await webhook_id(signed_in)
    page = f"/ui/webhooks/{wh_id}"
    data = {"code": CODE, "eventType": "u.new", "action": "try"}
    tried = await signed_in.post(f"{page}/transformation", data, page=page)
    assert tried.status_code == 200
    assert 'data-test="transformed-body">{&#34;who&#34;:&#34;a&#34;}</pre>' in tried.text
    assert (await signed_in.api("GET", f"/v1/webhooks/{wh_id}"))["transformation"] is None
    assert await signed_in.api("GET", f"/v1/webhooks/{wh_id}/deliveries") == []

    broken = {**data, "code": "function handler(w) { return w.nope.x; }"}
    failed = await signed_in.post(f"{page}/transformation", broken, page=page)
    assert 'data-test="transformation-error">TypeError' in failed.text
    assert "return w.nope.x;" in failed.text  # what was typed stays


async def test_a_refused_transformation_is_shown_by_the_editor(signed_in: Ui) -> None:
    wh_id = await webhook_id(signed_in)
    page = f"/ui/webhooks/{wh_id}"
    data = {"code": "x" * 70_000, "action": "save"}
    refused = await signed_in.post(f"{page}/transformation", data, page=page)
    assert refused.status_code == 422
    assert 'data-test="transformation-problem">transformation.code' in refused.text
    nothing = {"code": "", "eventType": "u.new", "action": "try"}
    refused = await signed_in.post(f"{page}/transformation", nothing, page=page)
    assert refused.status_code == 422
    assert "has no transformation" in refused.text


async def test_a_cancelled_delivery_has_its_own_badge(signed_in: Ui) -> None:
    wh_id = await webhook_id(signed_in)
    await signed_in.api("POST", "/v1/workspaces/acme/events", 202, json={"type": "a", "data": {}})
    (claim,) = await signed_in.store.claim_due("tests:ui", limit=1, now=now_ms(), lease_ms=60_000)
    ctx = signed_in.services.ctx
    pending = prepare(
        claim,
        box=ctx.box,
        delivery_defaults=ctx.settings.delivery,
        policy_defaults=ctx.settings.retry_policy,
        timestamp=now_ms() // 1000,
    )
    record = cancelled_record(
        pending, attempt_id=new_id("att"), started=now_ms(), finished=now_ms()
    )
    await signed_in.store.record_attempts("tests:ui", [record])
    logs = await signed_in.client.get(f"/ui/webhooks/{wh_id}/logs")
    assert '<option value="cancelled">Cancelled</option>' in logs.text
    assert '<span class="badge badge-cancelled">Cancelled</span>' in logs.text
    detail = await signed_in.client.get(f"/ui/deliveries/{claim.delivery_id}")
    assert '<span class="badge badge-cancelled">Cancelled</span>' in detail.text
