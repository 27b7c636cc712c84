"""Finished deliveries without a dispatcher: ``settle`` gives every due delivery one recorded
attempt through the store port, the way the dispatcher records them, for tests of what
reads deliveries and attempts (the API, the UI)."""

from __future__ import annotations

from hookline.domain.models import Attempt, AttemptOutcome, DeliveryStatus
from hookline.ids import new_id, now_ms
from hookline.store.port import AttemptRecord, Store

WORKER = "tests:settle"


async def settle(store: Store, *, status_code: int = 200) -> list[str]:
    """Give every due delivery one attempt answered with ``status_code``; return their ids.

    A 2xx succeeds the delivery and anything else fails it for good, so tests
    get finished deliveries (and attempts to read) without a dispatcher.
    """
    claims = await store.claim_due(WORKER, limit=10_000, now=now_ms(), lease_ms=60_000)
    ok = 200 <= status_code < 300
    records = []
    for claim in claims:
        now = now_ms()
        attempt = Attempt(
            id=new_id("att"),
            delivery_id=claim.delivery_id,
            number=claim.attempt,
            started_at=now,
            duration_ms=1.5,
            request={
                "method": "POST",
                "url": claim.webhook.url,
                "headers": {"content-type": "application/json"},
                "body": claim.event.data_json,
            },
            response={"status": status_code, "headers": {}, "body": "", "truncated": False},
            error=None,
            outcome=AttemptOutcome.SUCCESS if ok else AttemptOutcome.FAILURE,
        )
        records.append(
            AttemptRecord(
                attempt=attempt,
                webhook_id=claim.webhook.id,
                status=DeliveryStatus.SUCCEEDED if ok else DeliveryStatus.FAILED,
                next_attempt_at=None,
                status_code=status_code,
                error=None,
                completed_at=now,
            )
        )
    if records:
        await store.record_attempts(WORKER, records)
    return [c.delivery_id for c in claims]
