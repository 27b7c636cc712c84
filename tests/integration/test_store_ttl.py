"""Per-event ttl in the store's contract, on every backend: a delivery keeps its event's
expiry, a claim ends a due delivery whose event expired (unattempted, ``expired``) instead of
taking it, and an expired delivery is listed, recovered and resent only when asked."""

from __future__ import annotations

from dataclasses import replace

from test_store import (
    LEASE,
    T0,
    add_webhook,
    add_workspace,
    an_event,
    deliveries,
    finished,
    to,
)

from hookline.domain.models import DeliveryStatus
from hookline.domain.statuses import WebhookStatus
from hookline.ids import new_id
from hookline.store.port import DeliveryFilter, StatusChange, Store, WebhookChanges

EXPIRED, PENDING = DeliveryStatus.EXPIRED, DeliveryStatus.PENDING


async def test_a_claim_carries_the_expiry_of_a_delivery_still_in_time(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await store.insert_events([replace(to(an_event(), wh), expires_at=T0 + 60_000)])
    ended: list[str] = []
    (claim,) = await store.claim_due("A", limit=5, now=T0 + 60_000, lease_ms=LEASE, expired=ended)
    assert claim.expires_at == T0 + 60_000
    assert ended == []


async def test_a_claim_ends_expired_deliveries_unattempted_and_takes_the_others(
    store: Store,
) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    late = to(an_event(), wh)
    await store.insert_events([replace(late, expires_at=T0 + 1_000)])
    await store.insert_events([to(an_event(created_at=T0 + 1), wh)])  # no ttl

    ended: list[str] = []
    claims = await store.claim_due("A", limit=5, now=T0 + 1_001, lease_ms=LEASE, expired=ended)
    assert [c.expires_at for c in claims] == [None]
    assert ended == late.delivery_ids
    gone = await store.get_delivery(late.delivery_ids[0])
    assert gone is not None
    assert (gone.status, gone.attempt_count, gone.completed_at, gone.next_attempt_at) == (
        EXPIRED,
        0,
        T0 + 1_001,
        None,
    )
    assert await store.list_attempts(gone.id) == []
    # Finished: no later claim reads it again.
    assert await store.claim_due("B", limit=5, now=T0 + 99_000, lease_ms=LEASE) == []
    assert [d.id for d in await deliveries(store, status=EXPIRED)] == late.delivery_ids
    stats = await store.queue_stats()
    assert "pending" not in stats.counts


async def test_a_claim_reads_past_a_window_of_expired_deliveries(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    stale = [to(an_event(created_at=T0 + n), wh) for n in range(6)]
    await store.insert_events([replace(s, expires_at=T0 + 10) for s in stale])
    fresh = to(an_event(created_at=T0 + 100), wh)
    await store.insert_events([fresh])
    ended: list[str] = []
    claims = await store.claim_due("A", limit=2, now=T0 + 1_000, lease_ms=LEASE, expired=ended)
    # Whatever a store reads in one claim, what it read and found expired is ended, and a
    # later claim goes on from there: nothing expired is ever taken.
    taken = [c.delivery_id for c in claims]
    while not taken:
        taken = [
            c.delivery_id
            for c in await store.claim_due(
                "A", limit=2, now=T0 + 1_000, lease_ms=LEASE, expired=ended
            )
        ]
    assert taken == fresh.delivery_ids
    assert sorted(ended) == sorted(i for s in stale for i in s.delivery_ids)


async def test_a_held_delivery_expires_when_its_webhook_resumes_too_late(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    pause = StatusChange(status=WebhookStatus.PAUSED, reason=None, by="key_1", at=T0)
    await store.update_webhook(wh.id, WebhookChanges(status=pause), T0)
    held = to(an_event(), wh)
    await store.insert_events([replace(held, expires_at=T0 + 1_000)])
    resume = StatusChange(status=WebhookStatus.ACTIVE, reason=None, by="key_1", at=T0 + 5_000)
    await store.update_webhook(wh.id, WebhookChanges(status=resume), T0 + 5_000)
    assert await store.claim_due("A", limit=5, now=T0 + 5_000, lease_ms=LEASE) == []
    assert [d.status for d in await deliveries(store)] == [EXPIRED]


async def test_an_attempt_can_end_its_delivery_expired(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await store.insert_events([replace(to(an_event(), wh), expires_at=T0 + 2_000)])
    (claim,) = await store.claim_due("A", limit=5, now=T0, lease_ms=LEASE)
    await store.record_attempts("A", [finished(claim, EXPIRED, code=503)])
    done = await store.get_delivery(claim.delivery_id)
    assert done is not None
    assert (done.status, done.attempt_count, done.last_status_code, done.completed_at) == (
        EXPIRED,
        1,
        503,
        T0 + 100,
    )
    assert len(await store.list_attempts(claim.delivery_id)) == 1


async def test_expired_deliveries_are_recovered_only_when_asked_and_resent_without_expiry(
    store: Store,
) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    late = replace(to(an_event(), wh), expires_at=T0 + 1)
    await store.insert_events([late])
    assert await store.claim_due("A", limit=5, now=T0 + 2, lease_ms=LEASE) == []

    assert await store.recoverable(wh.id, since=T0, until=None, statuses=["failed"]) == []
    found = await store.recoverable(wh.id, since=T0, until=None, statuses=["failed", "expired"])
    assert found == late.delivery_ids
    (again,) = await store.resend(found, new_ids=[new_id("dlv")], tag="recovered", now=T0 + 3)
    assert again.status is PENDING
    # A recovery is asked for: it goes out whatever the event's ttl said.
    (claim,) = await store.claim_due("A", limit=5, now=T0 + 3, lease_ms=LEASE)
    assert (claim.delivery_id, claim.expires_at) == (again.id, None)
    listed = await store.list_deliveries(
        DeliveryFilter(webhook_id=wh.id, status=EXPIRED), limit=10, cursor=None
    )
    assert [d.id for d in listed.items] == late.delivery_ids
