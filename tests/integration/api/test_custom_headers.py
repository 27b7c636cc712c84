"""Custom header values through the API: shown to owner, admin and the admin key, masked for
member keys, and in attempt records credentials redacted for everyone.

The attempts come from the real dispatcher sending to a receiver on 127.0.0.1 (dev mode).
"""

from __future__ import annotations

import asyncio
from typing import Any

from support.app import ADMIN_KEY, Api, MakeApi, assert_error
from support.polling import eventually
from support.receiver import Receiver

from hookline.domain.models import Attempt
from hookline.ids import new_id, now_ms
from hookline.server import dispatcher_for
from hookline.store.port import AttemptRecord

HEADERS = {"Authorization": "Bearer sekrit-123", "X-Tenant": "tenant-77"}
MASKED = {"Authorization": "***", "X-Tenant": "***"}


async def keys(api: Api, ws_id: str) -> dict[str, str]:
    return {
        "admin key": ADMIN_KEY,
        **{role: await api.key(ws_id, role) for role in ("owner", "admin", "member")},
    }


async def test_members_see_header_names_with_masked_values(api: Api) -> None:
    ws = await api.workspace()
    wh = await api.webhook(ws["id"], headers=HEADERS)
    assert wh["headers"] == HEADERS
    by_role = await keys(api, ws["id"])
    for role, key in by_role.items():
        expected = MASKED if role == "member" else HEADERS
        one = await api.ok("GET", f"/v1/webhooks/{wh['id']}", key=key)
        assert one["headers"] == expected, role
        listed = await api.ok("GET", f"/v1/workspaces/{ws['id']}/webhooks", key=key)
        assert [w["headers"] for w in listed] == [expected], role
    publisher = await api.key(ws["id"], "publisher")
    assert_error(await api.get(f"/v1/webhooks/{wh['id']}", key=publisher), 403, "forbidden")


async def test_whether_custom_headers_follow_a_redirect_elsewhere_is_the_webhooks_choice(
    api: Api,
) -> None:
    ws = await api.workspace()
    wh = await api.webhook(ws["id"], headers=HEADERS)
    assert wh["forwardHeadersOnRedirect"] is False
    path = f"/v1/webhooks/{wh['id']}"
    on = await api.ok("PATCH", path, json={"forwardHeadersOnRedirect": True})
    assert on["forwardHeadersOnRedirect"] is True
    kept = await api.ok("PATCH", path, json={"name": "renamed", "forwardHeadersOnRedirect": None})
    assert kept["forwardHeadersOnRedirect"] is True  # left out (or null): unchanged
    assert (await api.ok("GET", path))["forwardHeadersOnRedirect"] is True
    error = assert_error(
        await api.patch(path, json={"forwardHeadersOnRedirect": "yes"}), 422, "validation_error"
    )
    assert error["details"][0]["field"] == "forwardHeadersOnRedirect"
    made = await api.webhook(ws["id"], headers=HEADERS, forwardHeadersOnRedirect=True)
    assert made["forwardHeadersOnRedirect"] is True


async def test_attempts_redact_credentials_for_all_and_mask_custom_values_for_members(
    make_api: MakeApi, receiver: Receiver
) -> None:
    hook = receiver.endpoint()
    url = hook.url
    api = await make_api(dev=True)
    ws = await api.workspace()
    wh = await api.webhook(ws["id"], url=url, headers=HEADERS)
    accepted = await api.event(ws["id"])
    ctx = api.services.ctx
    dispatcher = dispatcher_for(ctx)
    ctx.wake = dispatcher.wake
    task = asyncio.create_task(dispatcher.run())
    try:
        (dlv,) = await api.ok("GET", f"/v1/workspaces/{ws['id']}/deliveries")
        detail = await delivered(api, dlv["id"])
    finally:
        dispatcher.stop()
        await asyncio.wait_for(task, 15)
    assert dlv["eventId"] == accepted["id"] and dlv["webhookId"] == wh["id"]

    (sent,) = [r.headers for r in hook.requests]
    assert sent["Authorization"] == "Bearer sekrit-123" and sent["X-Tenant"] == "tenant-77"
    signature = sent["webhook-signature"]
    for role, key in (await keys(api, ws["id"])).items():
        shown = await api.ok("GET", f"/v1/deliveries/{dlv['id']}", key=key)
        headers = shown["attempts"][0]["request"]["headers"]
        assert headers["Authorization"] == "[redacted]", role
        assert headers["X-Tenant"] == ("***" if role == "member" else "tenant-77"), role
        assert headers["webhook-signature"] == signature, role
        assert headers["X-Hookline-Delivery"] == sent["X-Hookline-Delivery"], role
    assert detail["attempts"][0]["request"]["headers"]["Authorization"] == "[redacted]"


async def delivered(api: Api, dlv_id: str) -> dict[str, Any]:
    """The delivery once it has an attempt (polled with a deadline)."""
    detail: dict[str, Any] = await eventually(
        lambda: api.ok("GET", f"/v1/deliveries/{dlv_id}"),
        lambda detail: bool(detail["attempts"]),
        what="an attempt",
    )
    return detail


async def test_attempts_stored_with_credentials_by_older_versions_are_shown_redacted(
    api: Api,
) -> None:
    """Attempts recorded before credentials were redacted on the way in still hold them;
    reading redacts them, and what Hookline sets itself stays as it was sent."""
    ws = await api.workspace()
    await api.webhook(ws["id"], headers={"X-Tenant": "tenant-77"})
    await api.event(ws["id"])
    (claim,) = await api.store.claim_due("tests:old", limit=10, now=now_ms(), lease_ms=60_000)
    sent = {
        "Content-Type": "application/json",
        "X-Hookline-Delivery": claim.event.id,
        "webhook-signature": "v1,c2lnbmF0dXJl",
        "X-Tenant": "tenant-77",
        "Authorization": "Bearer removed-since",  # no longer one of the webhook's headers
        "X-Gone": "was-custom",
    }
    attempt = Attempt(
        id=new_id("att"),
        delivery_id=claim.delivery_id,
        number=1,
        started_at=now_ms(),
        duration_ms=3.0,
        request={"method": "POST", "url": claim.webhook.url, "headers": sent, "body": "{}"},
        response={"status": 200, "headers": {}, "body": "", "truncated": False},
        error=None,
        outcome="success",
    )
    record = AttemptRecord(
        attempt=attempt,
        webhook_id=claim.webhook.id,
        status="succeeded",
        next_attempt_at=None,
        status_code=200,
        error=None,
        completed_at=now_ms(),
    )
    await api.store.record_attempts("tests:old", [record])
    own = {k: sent[k] for k in ("Content-Type", "X-Hookline-Delivery", "webhook-signature")}
    for role, key in (await keys(api, ws["id"])).items():
        shown = await api.ok("GET", f"/v1/deliveries/{claim.delivery_id}", key=key)
        member = role == "member"
        assert shown["attempts"][0]["request"]["headers"] == {
            **own,
            "X-Tenant": "***" if member else "tenant-77",
            "Authorization": "[redacted]",
            "X-Gone": "***" if member else "was-custom",
        }, role
