"""Retry now (POST /v1/deliveries/{id}/retry) on both stores: a pending delivery's next
attempt moves to now, without a second delivery; every other state is a 409 with its code."""

from __future__ import annotations

from typing import Any

import pytest
from support.app import Api, MakeApi, assert_error

from hookline.domain.models import Attempt, AttemptOutcome, DeliveryStatus
from hookline.ids import format_ms, new_id, now_ms
from hookline.store.port import AttemptRecord

WORKER = "test-worker"
HOUR_MS = 3_600_000


@pytest.fixture
async def api(make_api: MakeApi, database: str) -> Api:
    return await make_api(database_url=database)


async def fail_first_attempts(api: Api, *, retry_in_ms: int = HOUR_MS) -> list[str]:
    """Give every due delivery one failed attempt (HTTP 503) and a retry ``retry_in_ms`` later."""
    now = now_ms()
    claims = await api.store.claim_due(WORKER, limit=100, now=now, lease_ms=60_000)
    records = [
        AttemptRecord(
            attempt=Attempt(
                id=new_id("att"),
                delivery_id=c.delivery_id,
                number=c.attempt,
                started_at=now,
                duration_ms=3.0,
                request={"method": "POST", "url": c.webhook.url, "headers": {}, "body": "{}"},
                response={"status": 503, "headers": {}, "body": "", "truncated": False},
                error=None,
                outcome=AttemptOutcome.FAILURE,
            ),
            webhook_id=c.webhook.id,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now + retry_in_ms,
            status_code=503,
            error=None,
            completed_at=None,
        )
        for c in claims
    ]
    await api.store.record_attempts(WORKER, records)
    return [c.delivery_id for c in claims]


async def a_retrying_delivery(api: Api, **hook: Any) -> tuple[str, dict[str, Any]]:
    await api.workspace(id="acme", name="Acme")
    wh = await api.webhook("acme", **hook)
    await api.event("acme", "order.paid", {"n": 1})
    (dlv_id,) = await fail_first_attempts(api)
    return dlv_id, wh


async def test_retry_now_moves_the_next_attempt_to_now(api: Api) -> None:
    dlv_id, wh = await a_retrying_delivery(api)
    woken: list[bool] = []
    api.services.ctx.wake = lambda: woken.append(True)
    before = await api.ok("GET", f"/v1/deliveries/{dlv_id}")
    assert before["status"] == "pending" and before["attemptCount"] == 1

    moved = await api.ok("POST", f"/v1/deliveries/{dlv_id}/retry", 202)
    assert moved["id"] == dlv_id and moved["status"] == "pending"
    assert moved["attemptCount"] == 1 and moved["nextAttemptAt"] <= format_ms(now_ms())
    assert woken == [True]
    claims = await api.store.claim_due(WORKER, limit=10, now=now_ms(), lease_ms=60_000)
    assert [(c.delivery_id, c.attempt) for c in claims] == [(dlv_id, 2)]
    assert len(await api.ok("GET", f"/v1/webhooks/{wh['id']}/deliveries")) == 1


async def test_a_finished_delivery_is_a_conflict(api: Api) -> None:
    dlv_id, _wh = await a_retrying_delivery(api, retryPolicy={"schedule": [0, 0]})
    await api.store.retry_now(dlv_id, now=now_ms())
    await api.settle(200)
    error = assert_error(await api.post(f"/v1/deliveries/{dlv_id}/retry"), 409, "delivery_finished")
    assert "succeeded" in error["message"] and "resend" in error["message"]


async def test_a_delivery_being_sent_is_a_conflict(api: Api) -> None:
    dlv_id, _wh = await a_retrying_delivery(api)
    await api.store.retry_now(dlv_id, now=now_ms())
    await api.store.claim_due(WORKER, limit=10, now=now_ms(), lease_ms=60_000)
    response = await api.post(f"/v1/deliveries/{dlv_id}/retry")
    assert_error(response, 409, "delivery_in_progress")


async def test_a_paused_or_disabled_webhook_holds_its_deliveries(api: Api) -> None:
    dlv_id, wh = await a_retrying_delivery(api)
    await api.ok("PATCH", f"/v1/webhooks/{wh['id']}", json={"status": "paused"})
    error = assert_error(await api.post(f"/v1/deliveries/{dlv_id}/retry"), 409, "webhook_paused")
    assert "resumed" in error["message"]
    await api.ok("PATCH", f"/v1/webhooks/{wh['id']}", json={"status": "disabled"})
    assert_error(await api.post(f"/v1/deliveries/{dlv_id}/retry"), 409, "webhook_disabled")
    held = await api.ok("GET", f"/v1/deliveries/{dlv_id}")
    assert held["status"] == "held"


async def test_a_fifo_webhook_retries_its_oldest_delivery_first(api: Api) -> None:
    head, wh = await a_retrying_delivery(api, ordering="fifo")
    await api.event("acme", "order.paid", {"n": 2})
    pending = await api.ok(
        "GET", f"/v1/webhooks/{wh['id']}/deliveries", params={"status": "pending"}
    )
    (behind,) = [d["id"] for d in pending if d["id"] != head]
    error = assert_error(await api.post(f"/v1/deliveries/{behind}/retry"), 409, "delivery_queued")
    assert "FIFO" in error["message"]
    await api.ok("POST", f"/v1/deliveries/{head}/retry", 202)


async def test_retry_now_takes_a_key_that_manages_the_webhook(api: Api) -> None:
    dlv_id, _wh = await a_retrying_delivery(api)
    member = await api.key("acme", "member")
    assert_error(await api.post(f"/v1/deliveries/{dlv_id}/retry", key=member), 403)
    await api.workspace(id="other", name="Other")
    foreign = await api.key("other", "admin")
    assert_error(await api.post(f"/v1/deliveries/{dlv_id}/retry", key=foreign), 404)
    assert_error(await api.post("/v1/deliveries/dlv_nope/retry"), 404)
    admin = await api.key("acme", "admin")
    await api.ok("POST", f"/v1/deliveries/{dlv_id}/retry", 202, key=admin)
