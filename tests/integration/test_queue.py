"""The queue's scheduling rules, against every store backend (see conftest.py):
per-webhook concurrency caps, FIFO heads and rate-limit slots, alone and with two
stores on one database claiming at once, like two worker processes.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from hookline.domain.models import Attempt, Delivery, DeliveryStatus, Event, Webhook, Workspace
from hookline.domain.statuses import WebhookStatus
from hookline.domain.workspace_settings import WorkspaceSettings
from hookline.ids import new_id, now_ms
from hookline.store.port import (
    AttemptRecord,
    Claim,
    DeliveryFilter,
    NewEvent,
    StatusChange,
    Store,
    WebhookChanges,
)

T0 = 1_773_828_300_000
LEASE = 30_000


async def setup(store: Store, *, count: int = 0, **webhook: Any) -> tuple[Webhook, list[str]]:
    """A workspace with one webhook and ``count`` due events for it, oldest first."""
    if await store.get_workspace("acme") is None:
        ws = Workspace(
            id="acme",
            name="Acme",
            plan="pro",
            notification_email=None,
            settings=WorkspaceSettings(),
            created_at=T0,
            updated_at=T0,
        )
        assert await store.create_workspace(ws)
    fields: dict[str, Any] = {
        "id": new_id("wh"),
        "workspace_id": "acme",
        "url": "https://example.com/hook",
        "name": "hook",
        "description": "",
        "events": ["*"],
        "headers": {},
        "status": WebhookStatus.ACTIVE,
        "status_reason": None,
        "status_changed_by": None,
        "status_changed_at": None,
        "retry_policy": None,
        "rate_limit": None,
        "ordering": "none",
        "metadata": {},
        "created_at": T0,
        "updated_at": T0,
        **webhook,
    }
    wh = Webhook(**fields)
    assert await store.create_webhook(wh, "sealed", max_webhooks=None)
    return wh, await publish(store, wh, count)


async def publish(store: Store, wh: Webhook, count: int) -> list[str]:
    """``count`` events for ``wh`` in one insert (same millisecond); their event ids."""
    events = [
        Event(
            id=new_id("evt"),
            workspace_id=wh.workspace_id,
            type="job.done",
            data_json=f'{{"n":{n}}}',
            created_at=T0,
        )
        for n in range(count)
    ]
    batch = [NewEvent(event=e, webhook_ids=[wh.id], delivery_ids=[new_id("dlv")]) for e in events]
    await store.insert_events(batch)
    return [e.id for e in events]


def record(
    claim: Claim, status: DeliveryStatus, *, next_at: int | None = None, code: int = 200
) -> AttemptRecord:
    attempt = Attempt(
        id=new_id("att"),
        delivery_id=claim.delivery_id,
        number=claim.attempt,
        started_at=T0,
        duration_ms=1.0,
        request={"method": "POST", "url": claim.webhook.url, "headers": {}, "body": "{}"},
        response={"status": code, "headers": {}, "body": "", "truncated": False},
        error=None,
        outcome="success" if status is DeliveryStatus.SUCCEEDED else "failure",
    )
    return AttemptRecord(
        attempt=attempt,
        webhook_id=claim.webhook.id,
        status=status.value,
        next_attempt_at=next_at,
        status_code=code,
        error=None,
        completed_at=None if status is DeliveryStatus.PENDING else T0,
    )


async def claim(store: Store, now: int, owner: str = "A", **kwargs: Any) -> list[Claim]:
    limit = kwargs.pop("limit", 50)
    return await store.claim_due(owner, limit=limit, now=now, lease_ms=LEASE, **kwargs)


async def finish(store: Store, owner: str, *records: AttemptRecord) -> None:
    await store.record_attempts(owner, list(records))


async def deliveries(store: Store, wh_id: str, status: str | None = None) -> list[Delivery]:
    flt = DeliveryFilter(webhook_id=wh_id, status=status)
    return (await store.list_deliveries(flt, limit=250, cursor=None)).items


# -- per-webhook concurrency -------------------------------------------------------------------


async def test_a_webhook_gets_at_most_its_cap_minus_what_is_busy(store: Store) -> None:
    wh, _ = await setup(store, count=10)
    other, _ = await setup(store, count=3)

    first = await claim(store, T0, per_webhook=4, busy={wh.id: 1})
    assert sum(c.webhook.id == wh.id for c in first) == 3
    assert sum(c.webhook.id == other.id for c in first) == 3

    busy = {wh.id: 4}
    assert await claim(store, T0, per_webhook=4, busy=busy) == []
    more = await claim(store, T0, per_webhook=4, busy={wh.id: 2})
    assert [c.webhook.id for c in more] == [wh.id, wh.id]


async def test_a_saturated_webhook_first_in_line_does_not_starve_the_others(
    store: Store,
) -> None:
    slow, _ = await setup(store, count=200)  # older: first in the queue, past the read window
    fast = {(await setup(store, count=2))[0].id for _ in range(3)}
    claims = await claim(store, T0, limit=8, per_webhook=2)
    assert sum(c.webhook.id == slow.id for c in claims) == 2
    assert sum(c.webhook.id in fast for c in claims) == 6


async def test_busy_counts_are_read_when_the_claim_is_asked_for(
    store: Store, database: str
) -> None:
    """The dispatcher's live counter changes while a claim waits for the write lock."""
    if not database.startswith("sqlite:///"):
        pytest.skip("holds SQLite's write lock from another connection")
    wh, _ = await setup(store, count=3)
    busy = {wh.id: 2}
    lock = sqlite3.connect(database.removeprefix("sqlite:///"), isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")  # the claim now waits on the writer thread
        task = asyncio.create_task(claim(store, T0, per_webhook=2, busy=busy))
        for _ in range(3):
            await asyncio.sleep(0)  # let the claim start (a yield, not a wait)
        busy.clear()
        lock.execute("ROLLBACK")
    finally:
        lock.close()
    assert await task == []


# -- per-workspace share ----------------------------------------------------------------------


async def test_a_full_workspace_gives_nothing_while_another_workspaces_deliveries_go(
    store: Store,
) -> None:
    full, _ = await setup(store, count=4)
    other, _ = await setup(store, count=3, workspace_id=await other_workspace(store))

    claims = await claim(store, T0, per_workspace=5, busy_workspaces={"acme": 5})
    assert [c.webhook.id for c in claims] == [other.id] * 3
    more = await claim(store, T0, per_workspace=5, busy_workspaces={"acme": 3})
    assert [c.webhook.id for c in more] == [full.id] * 2


async def test_a_lone_workspace_is_capped_at_its_share_across_its_webhooks(store: Store) -> None:
    hooks = [(await setup(store, count=4))[0].id for _ in range(5)]
    claims = await claim(store, T0, limit=20, per_webhook=2, per_workspace=6)
    assert len(claims) == 6
    assert all(n <= 2 for n in Counter(c.webhook.id for c in claims).values())
    assert {c.webhook.id for c in claims} <= set(hooks)
    assert await claim(store, T0, per_webhook=2, per_workspace=6, busy_workspaces={"acme": 6}) == []


async def test_a_full_workspaces_backlog_first_in_line_does_not_hide_the_others(
    store: Store,
) -> None:
    for _ in range(3):  # older: first in the queue, past the read window
        await setup(store, count=100)
    ws = await other_workspace(store)
    others = {(await setup(store, count=1, workspace_id=ws))[0].id for _ in range(3)}
    claims = await claim(store, T0, limit=8, per_webhook=100, per_workspace=3)
    assert sum(c.webhook.workspace_id == "acme" for c in claims) == 3
    assert {c.webhook.id for c in claims if c.webhook.workspace_id == ws} == others
    assert len(claims) == 6


# -- FIFO --------------------------------------------------------------------------------------


async def test_fifo_claims_only_the_oldest_unfinished_delivery(store: Store) -> None:
    wh, sent = await setup(store, count=30, ordering="fifo")
    plain, _ = await setup(store, count=3)

    got = []
    for _ in sent:
        claims = await claim(store, T0)
        mine = [c for c in claims if c.webhook.id == wh.id]
        assert len(mine) == 1, "a FIFO webhook had more than one delivery in flight"
        assert await claim(store, T0) == [], "claimed behind a FIFO head in flight"
        got.append(mine[0].event.id)
        await finish(store, "A", record(mine[0], DeliveryStatus.SUCCEEDED))
    assert got == sent  # one insert, one millisecond: still in event order
    assert await claim(store, T0) == []
    assert {d.status for d in await deliveries(store, plain.id)} == {DeliveryStatus.SENDING}


async def test_a_fifo_backlog_first_in_line_does_not_hide_the_others(store: Store) -> None:
    fifo, _ = await setup(store, count=300, ordering="fifo")  # older, past the read window
    plain, _ = await setup(store, count=5)
    first = await claim(store, T0, limit=10)
    assert sorted(c.webhook.id for c in first) == sorted([fifo.id] + [plain.id] * 5)
    # With its head in flight, nothing of the FIFO webhook can go: the others still do.
    late, _ = await setup(store, count=2)
    assert [c.webhook.id for c in await claim(store, T0, limit=10)] == [late.id, late.id]


async def test_a_retrying_fifo_head_holds_the_rest_until_it_succeeds(store: Store) -> None:
    _wh, sent = await setup(store, count=3, ordering="fifo")

    (head,) = await claim(store, T0)
    await finish(store, "A", record(head, DeliveryStatus.PENDING, next_at=T0 + 1000, code=500))
    # The head waits for its retry; nothing behind it may overtake, not even when due.
    assert await claim(store, T0 + 500) == []
    assert await store.next_due_at() == T0  # the blocked ones are due, the head is not
    (again,) = await claim(store, T0 + 1000)
    assert (again.event.id, again.attempt) == (sent[0], 2)
    await finish(store, "A", record(again, DeliveryStatus.SUCCEEDED))
    (second,) = await claim(store, T0 + 1000)
    assert second.event.id == sent[1]


async def test_an_exhausted_fifo_head_lets_the_next_one_go(store: Store) -> None:
    _wh, sent = await setup(store, count=2, ordering="fifo")
    (head,) = await claim(store, T0)
    await finish(store, "A", record(head, DeliveryStatus.FAILED, code=500))
    (second,) = await claim(store, T0)
    assert second.event.id == sent[1]


async def test_a_released_or_expired_fifo_head_is_claimed_again_first(store: Store) -> None:
    _wh, sent = await setup(store, count=3, ordering="fifo")
    (head,) = await claim(store, T0)
    await store.release("A", [head.delivery_id])
    (again,) = await claim(store, T0, owner="B")
    assert again.event.id == sent[0]
    assert await store.reclaim_expired(T0 + LEASE + 1) == 1
    (third,) = await claim(store, T0 + LEASE + 1, owner="C")
    assert third.event.id == sent[0]


async def test_a_paused_fifo_webhook_resumes_in_order(store: Store) -> None:
    wh, sent = await setup(store, count=5, ordering="fifo")
    pause = StatusChange(status=WebhookStatus.PAUSED, reason=None, by="key_1", at=T0)
    await store.update_webhook(wh.id, WebhookChanges(status=pause), T0)
    sent += await publish(store, wh, 5)  # arrive held
    assert await claim(store, T0 + 10) == []
    resume = StatusChange(status=WebhookStatus.ACTIVE, reason=None, by="key_1", at=T0 + 20)
    await store.update_webhook(wh.id, WebhookChanges(status=resume), T0 + 20)
    got = []
    for _ in sent:
        (c,) = await claim(store, T0 + 20)
        got.append(c.event.id)
        await finish(store, "A", record(c, DeliveryStatus.SUCCEEDED))
    assert got == sent


async def test_two_workers_never_have_two_fifo_deliveries_in_flight(
    store_factory: Callable[[], Store],
) -> None:
    a, b = store_factory(), store_factory()
    await a.open()
    await b.open()
    _wh, sent = await setup(a, count=20, ordering="fifo")
    got: list[str] = []
    for _ in sent:
        claims = await asyncio.gather(claim(a, T0, owner="A"), claim(b, T0, owner="B"))
        assert sorted(len(c) for c in claims) == [0, 1], claims
        owner, (c,) = next((o, c) for o, c in zip("AB", claims, strict=True) if c)
        got.append(c.event.id)
        await finish(a if owner == "A" else b, owner, record(c, DeliveryStatus.SUCCEEDED))
    assert got == sent


# -- rate limits -------------------------------------------------------------------------------


async def test_a_rate_limit_gives_one_slot_per_interval_and_defers_the_rest(
    store: Store,
) -> None:
    wh, sent = await setup(store, count=5, rate_limit=10)  # one attempt per 100 ms
    plain, _ = await setup(store, count=3)

    first = await claim(store, T0)
    assert [c.event.id for c in first if c.webhook.id == wh.id] == sent[:1]
    assert sum(c.webhook.id == plain.id for c in first) == 3  # unlimited ones all go
    # The others were pushed to their own slots, 100 ms apart.
    due = sorted(d.next_attempt_at or 0 for d in await deliveries(store, wh.id, "pending"))
    assert due == [T0 + 100, T0 + 200, T0 + 300, T0 + 400]
    assert await claim(store, T0 + 99) == []
    assert [c.event.id for c in await claim(store, T0 + 100)] == sent[1:2]
    assert await claim(store, T0 + 150) == []
    assert [c.event.id for c in await claim(store, T0 + 400)] == sent[2:3]
    assert [c.event.id for c in await claim(store, T0 + 500)] == sent[3:4]


async def test_two_workers_claiming_at_once_share_one_rate_limit(
    store_factory: Callable[[], Store],
) -> None:
    a, b = store_factory(), store_factory()
    await a.open()
    await b.open()
    await setup(a, count=10, rate_limit=10)  # one attempt per 100 ms
    steps = [(T0, 1), (T0 + 50, 0), (T0 + 100, 1), (T0 + 100, 0), (T0 + 199, 0), (T0 + 200, 1)]
    for now, expected in steps:
        claims = await asyncio.gather(claim(a, now, owner="A"), claim(b, now, owner="B"))
        assert sum(len(c) for c in claims) == expected, (now - T0, claims)


async def test_two_workers_polling_in_real_time_never_exceed_the_rate(
    store_factory: Callable[[], Store],
) -> None:
    a, b = store_factory(), store_factory()
    await a.open()
    await b.open()
    rate, count = 20, 30  # one attempt per 50 ms: 30 take 1.45 s
    await setup(a, count=count, rate_limit=rate)
    claimed: list[tuple[int, float, str, str]] = []  # (claim time, wall time, worker, id)

    async def worker(store: Store, owner: str) -> None:
        while len(claimed) < count:
            now = now_ms()
            for c in await claim(store, now, owner=owner):
                claimed.append((now, time.monotonic(), owner, c.delivery_id))
            # A worker's poll interval (not synchronization): both race for every slot.
            await asyncio.sleep(0.003)

    async with asyncio.timeout(10):
        await asyncio.gather(worker(a, "A"), worker(b, "B"))

    assert len({dlv for *_, dlv in claimed}) == count  # each claimed once
    assert {owner for _, _, owner, _ in claimed} == {"A", "B"}  # both workers took slots
    stamps = sorted(now for now, *_ in claimed)
    interval = 1000 // rate
    assert all(b - a >= interval for a, b in itertools.pairwise(stamps)), stamps
    walls = sorted(wall for _, wall, _, _ in claimed)
    busiest = max(sum(1 for w in walls if start <= w < start + 1) for start in walls)
    assert busiest <= rate + 1, busiest  # +1: a claim may come back a little late
    assert walls[-1] - walls[0] >= (count - 1) / rate - 0.05


# -- rows outside the API's bounds -------------------------------------------------------------
#
# The API takes rates of 0.001 to 10000 per second and times up to year 9999. Rows written
# before those bounds (or by hand) must not fail the claim: it serves every workspace at once.

DAY = 86_400_000


async def other_workspace(store: Store, ws_id: str = "globex") -> str:
    ws = Workspace(
        id=ws_id,
        name=ws_id.title(),
        plan="pro",
        notification_email=None,
        settings=WorkspaceSettings(),
        created_at=T0,
        updated_at=T0,
    )
    assert await store.create_workspace(ws)
    return ws_id


async def write(database: str, sql: str, *args: Any) -> None:
    """Change a row behind the store's back (``$1``-style placeholders on either backend)."""
    if database.startswith("sqlite:///"):
        conn = sqlite3.connect(database.removeprefix("sqlite:///"))
        try:
            conn.execute(re.sub(r"\$\d+", "?", sql), args)
            conn.commit()
        finally:
            conn.close()
        return
    pg = await asyncpg.connect(database)
    try:
        await pg.execute(sql, *args)
    finally:
        await pg.close()


async def test_the_lowest_rate_limit_gives_one_slot_per_1000_seconds(store: Store) -> None:
    wh, sent = await setup(store, count=3, rate_limit=0.001)
    plain, _ = await setup(store, count=2, workspace_id=await other_workspace(store))
    first = await claim(store, T0)
    assert [c.event.id for c in first if c.webhook.id == wh.id] == sent[:1]
    assert sum(c.webhook.id == plain.id for c in first) == 2
    due = sorted(d.next_attempt_at or 0 for d in await deliveries(store, wh.id, "pending"))
    assert due == [T0 + 1_000_000, T0 + 2_000_000]
    assert await claim(store, T0 + 999_999) == []
    assert [c.event.id for c in await claim(store, T0 + 1_000_000)] == sent[1:2]


@pytest.mark.parametrize("rate", [1e-300, 5e-324, -1.0, float("inf")])
async def test_an_absurd_rate_limit_does_not_stop_other_workspaces_deliveries(
    store: Store, rate: float
) -> None:
    """1e-300 per second was once accepted: its interval overflowed the store's integers."""
    damaged, held = await setup(store, count=3, rate_limit=rate)
    plain, sent = await setup(store, count=3, workspace_id=await other_workspace(store))

    claimed = await claim(store, T0)

    assert sorted(c.event.id for c in claimed if c.webhook.id == plain.id) == sorted(sent)
    assert [c.event.id for c in claimed if c.webhook.id == damaged.id] == held[:1]
    # The others wait their slots: at most a day apart (1 ms for an infinite rate).
    due = sorted(d.next_attempt_at or 0 for d in await deliveries(store, damaged.id, "pending"))
    assert len(due) == 2 and T0 < due[0] < due[1] <= T0 + 2 * DAY, due
    assert [c.event.id for c in await claim(store, T0 + 2 * DAY)] == held[1:2]


async def test_a_rate_clock_far_ahead_is_ignored_and_rewritten(store: Store, database: str) -> None:
    damaged, held = await setup(store, count=3, rate_limit=1.0)
    top = 2**63 - 1  # the largest time either store's integers hold
    await write(database, "UPDATE webhooks SET rate_next_at = $1 WHERE id = $2", top, damaged.id)
    plain, sent = await setup(store, count=3, workspace_id=await other_workspace(store))

    claimed = await claim(store, T0)

    assert sorted(c.event.id for c in claimed if c.webhook.id == plain.id) == sorted(sent)
    assert [c.event.id for c in claimed if c.webhook.id == damaged.id] == held[:1]
    due = sorted(d.next_attempt_at or 0 for d in await deliveries(store, damaged.id, "pending"))
    assert due == [T0 + 1000, T0 + 2000]
    assert [c.event.id for c in await claim(store, T0 + 1000)] == held[1:2]


async def test_a_delivery_due_past_year_9999_is_left_alone(store: Store, database: str) -> None:
    far, _ = await setup(store, count=1)
    top = 2**63 - 1
    await write(
        database, "UPDATE deliveries SET next_attempt_at = $1 WHERE webhook_id = $2", top, far.id
    )
    _, sent = await setup(store, count=2, workspace_id=await other_workspace(store))
    assert sorted(c.event.id for c in await claim(store, T0)) == sorted(sent)
    assert [d.next_attempt_at for d in await deliveries(store, far.id)] == [top]
    assert await store.next_due_at() == top
