"""Expired deliveries in the UI: the Send Logs show them with their own badge, filter by
that status, and recover them only when the form asks for expired ones."""

from __future__ import annotations

import re

import pytest

from hookline.ids import format_ms, parse_time

from .conftest import Ui


@pytest.fixture
async def signed_in(ui: Ui) -> Ui:
    await ui.login()
    return ui


async def expired_delivery(ui: Ui) -> tuple[str, dict[str, str]]:
    """A webhook's id and a delivery of it whose event's ttl ran out before it was claimed."""
    (wh,) = await ui.api("GET", "/v1/workspaces/acme/webhooks")
    body = {"type": "order.paid", "data": {}, "ttl": 1}
    event = await ui.api("POST", "/v1/workspaces/acme/events", 202, json=body)
    late = parse_time(event["createdAt"]) + 1_001
    assert await ui.store.claim_due("tests:ui", limit=10, now=late, lease_ms=60_000) == []
    (dlv,) = await ui.api("GET", f"/v1/webhooks/{wh['id']}/deliveries")
    assert dlv["status"] == "expired"
    return wh["id"], dlv


async def test_the_send_logs_show_and_filter_expired_deliveries(signed_in: Ui) -> None:
    wh_id, dlv = await expired_delivery(signed_in)
    await signed_in.api("POST", "/v1/workspaces/acme/events", 202, json={"type": "a", "data": {}})
    logs = f"/ui/webhooks/{wh_id}/logs"
    page = await signed_in.client.get(logs)
    rows = dict(re.findall(r'<tr data-delivery="([^"]+)">(.*?)</tr>', page.text, re.S))
    assert len(rows) == 2
    assert '<span class="badge badge-expired">Expired</span>' in rows[dlv["id"]]
    assert '<option value="expired">Expired</option>' in page.text
    only = await signed_in.client.get(logs, params={"status": "expired"})
    shown = re.findall(r'<tr data-delivery="([^"]+)">', only.text)
    assert shown == [dlv["id"]]
    detail = await signed_in.client.get(f"/ui/deliveries/{dlv['id']}")
    assert '<span class="badge badge-expired">Expired</span>' in detail.text
    assert "data-refresh" not in detail.text


async def test_recover_takes_expired_deliveries_only_when_ticked(signed_in: Ui) -> None:
    wh_id, dlv = await expired_delivery(signed_in)
    since = (format_ms(parse_time(dlv["createdAt"]) - 60_000) or "")[:19]
    path, page = f"/ui/webhooks/{wh_id}/recover", f"/ui/webhooks/{wh_id}/logs"
    form = (await signed_in.client.get(page)).text
    assert 'name="statuses" value="expired">' in form  # offered, not ticked
    default = await signed_in.post(path, {"since": since, "statuses": "failed"}, page=page)
    assert default.status_code == 303
    assert len(await signed_in.api("GET", f"/v1/webhooks/{wh_id}/deliveries")) == 1
    ticked = await signed_in.post(path, {"since": since, "statuses": "expired"}, page=page)
    assert ticked.status_code == 303
    listed = await signed_in.api("GET", f"/v1/webhooks/{wh_id}/deliveries")
    assert [(d["status"], d["resentFrom"]) for d in listed] == [
        ("pending", dlv["id"]),
        ("expired", None),
    ]


async def test_a_pending_delivery_shows_its_expiry_and_no_attempt_after_it(signed_in: Ui) -> None:
    (wh,) = await signed_in.api("GET", "/v1/workspaces/acme/webhooks")
    schedule = {"schedule": [0, 60, 600, 6000]}
    await signed_in.api("PATCH", f"/v1/webhooks/{wh['id']}", json={"retryPolicy": schedule})
    body = {"type": "order.paid", "data": {}, "ttl": 900}
    await signed_in.api("POST", "/v1/workspaces/acme/events", 202, json=body)
    (dlv,) = await signed_in.api("GET", f"/v1/webhooks/{wh['id']}/deliveries")
    assert dlv["status"] == "pending"
    page = (await signed_in.client.get(f"/ui/deliveries/{dlv['id']}")).text
    assert "Attempt 1 of 4" in page
    listed = re.search(r'<ol class="plain schedule" id="schedule">(.*?)</ol>', page, re.S)
    assert listed is not None
    # Attempt 4 would come 6660 s after the event, past its 900 s.
    assert re.findall(r"<li>Attempt (\d+):", listed.group(1)) == ["2", "3"]
    assert 'id="expires"' in page and "no attempt starts after that" in page
