"""The store port's contract, run against every backend (see conftest.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from hookline.domain.models import (
    STUCK_AFTER_FAULTS,
    SYSTEM,
    ApiKey,
    Attempt,
    Delivery,
    DeliveryStatus,
    Event,
    EventType,
    Role,
    SchemaVersion,
    Webhook,
    Workspace,
)
from hookline.domain.retry import parse_policy
from hookline.domain.statuses import StopReason, WebhookStatus
from hookline.domain.workspace_settings import WorkspaceSettings, parse_settings
from hookline.errors import PlanLimitReached
from hookline.ids import new_id
from hookline.store.port import (
    FAILURE_STREAK_LIMIT,
    AttemptHour,
    AttemptRecord,
    Claim,
    DeliveryFilter,
    EndpointHealth,
    Inserted,
    KeptAnswer,
    NewEvent,
    Page,
    StatusChange,
    Store,
    UiSession,
    WebhookChanges,
    WebhookPatch,
)

T0 = 1_773_828_300_000
LEASE = 30_000
PENDING, HELD, SENDING = DeliveryStatus.PENDING, DeliveryStatus.HELD, DeliveryStatus.SENDING
SUCCEEDED, FAILED = DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED


# -- builders ----------------------------------------------------------------------


def a_workspace(ws_id: str = "acme", **fields: Any) -> Workspace:
    values: dict[str, Any] = {
        "id": ws_id,
        "name": f"Workspace {ws_id}",
        "plan": "free",
        "notification_email": None,
        "settings": WorkspaceSettings(),
        "created_at": T0,
        "updated_at": T0,
        **fields,
    }
    return Workspace(**values)


def a_webhook(ws_id: str = "acme", **fields: Any) -> Webhook:
    values: dict[str, Any] = {
        "id": new_id("wh"),
        "workspace_id": ws_id,
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
        **fields,
    }
    return Webhook(**values)


def an_event(ws_id: str = "acme", **fields: Any) -> Event:
    values: dict[str, Any] = {
        "id": new_id("evt"),
        "workspace_id": ws_id,
        "type": "course.completed",
        "data_json": '{"user":"ada"}',
        "created_at": T0,
        **fields,
    }
    return Event(**values)


def to(event: Event, *hooks: Webhook) -> NewEvent:
    return NewEvent(
        event=event,
        webhook_ids=[h.id for h in hooks],
        delivery_ids=[new_id("dlv") for _ in hooks],
    )


def finished(
    claim: Claim,
    status: DeliveryStatus,
    *,
    code: int | None = 200,
    error: str | None = None,
    next_at: int | None = None,
    pause: bool = False,
) -> AttemptRecord:
    """The record of ``claim``'s attempt, deciding ``status`` for its delivery."""
    attempt = Attempt(
        id=new_id("att"),
        delivery_id=claim.delivery_id,
        number=claim.attempt,
        started_at=T0 + 10,
        duration_ms=12.5,
        request={"method": "POST", "url": claim.webhook.url, "headers": {"a": "b"}, "body": "{}"},
        response=None
        if code is None
        else {"status": code, "headers": {"x": "y"}, "body": "ok", "truncated": False},
        error=error,
        outcome="success" if status is SUCCEEDED else "failure",
    )
    return AttemptRecord(
        attempt=attempt,
        webhook_id=claim.webhook.id,
        status=status.value,
        next_attempt_at=next_at,
        status_code=code,
        error=error,
        completed_at=None if status is PENDING else T0 + 100,
        stop_webhook=StopReason.TOO_MANY_FAILURES if pause else None,
    )


async def add_workspace(store: Store, ws_id: str = "acme", **fields: Any) -> Workspace:
    ws = a_workspace(ws_id, **fields)
    assert await store.create_workspace(ws)
    return ws


async def add_webhook(store: Store, ws_id: str = "acme", **fields: Any) -> Webhook:
    wh = a_webhook(ws_id, **fields)
    assert await store.create_webhook(wh, "sealed-secret", max_webhooks=None)
    return wh


async def publish(store: Store, *hooks: Webhook, **event_fields: Any) -> Inserted:
    ws_id = hooks[0].workspace_id if hooks else "acme"
    (inserted,) = await store.insert_events([to(an_event(ws_id, **event_fields), *hooks)])
    return inserted


async def deliveries(store: Store, **flt: Any) -> list[Delivery]:
    return (await store.list_deliveries(DeliveryFilter(**flt), limit=250, cursor=None)).items


async def status_of(store: Store, dlv_id: str) -> DeliveryStatus:
    found = await store.get_delivery(dlv_id)
    assert found is not None
    return found.status


async def claim_one(store: Store, owner: str = "A", now: int = T0) -> Claim:
    claims = await store.claim_due(owner, limit=10, now=now, lease_ms=LEASE)
    assert len(claims) == 1, claims
    return claims[0]


# -- workspaces --------------------------------------------------------------------


async def test_workspace_crud(store: Store) -> None:
    ws = a_workspace(
        "acme",
        notification_email="ops@acme.test",
        settings=parse_settings(
            {
                "delivery": {"brand": "Acme"},
                "portal": {
                    "name": "Acme",
                    "logo": '<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>',
                    "accentColor": "#0a7d5a",
                    "theme": "dark",
                    "footerLinks": [],
                    "terms": {"endpoint": "integration"},
                },
            }
        ),
        metadata={"tier": "gold", "seats": 5},
    )
    assert await store.create_workspace(ws)
    assert not await store.create_workspace(replace(ws, name="other"))
    assert await store.get_workspace("acme") == ws
    assert await store.get_workspace("nope") is None

    changed = replace(
        ws,
        name="Acme Inc",
        plan="pro",
        settings=WorkspaceSettings(),
        updated_at=T0 + 5,
        metadata={"tier": "silver"},
    )
    await store.update_workspace(changed)
    assert await store.get_workspace("acme") == changed

    assert await store.delete_workspace("acme")
    assert await store.get_workspace("acme") is None
    assert not await store.delete_workspace("acme")


async def test_deleting_a_workspace_deletes_what_it_owns(store: Store) -> None:
    await add_workspace(store, "acme")
    await add_workspace(store, "other")
    wh = await add_webhook(store, "acme")
    kept = await add_webhook(store, "other")
    await store.create_api_key(
        ApiKey(id=new_id("key"), workspace_id="acme", name="k", role=Role.ADMIN, created_at=T0),
        "hash-1",
    )
    inserted = await publish(store, wh)
    claim = await claim_one(store)
    await store.record_attempts("A", [finished(claim, FAILED, code=500)])
    await publish(store, kept)

    assert await store.delete_workspace("acme")
    assert await store.get_webhook(wh.id) is None
    assert await store.find_api_key("hash-1") is None
    assert await store.get_event(inserted.event.id, ws_id=None) is None
    assert await store.list_attempts(claim.delivery_id) == []
    assert [d.webhook_id for d in await deliveries(store)] == [kept.id]


async def test_workspaces_page_newest_first(store: Store) -> None:
    for n in range(5):
        await add_workspace(store, f"ws{n}")
    seen: list[list[str]] = []
    cursor = None
    while True:
        page = await store.list_workspaces(ids=None, limit=2, cursor=cursor)
        seen.append([w.id for w in page.items])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [["ws4", "ws3"], ["ws2", "ws1"], ["ws0"]]
    exact = await store.list_workspaces(ids=None, limit=5, cursor=None)
    assert len(exact.items) == 5 and exact.next_cursor is None


async def test_workspaces_filtered_by_ids(store: Store) -> None:
    for n in range(4):
        await add_workspace(store, f"ws{n}")
    page = await store.list_workspaces(ids=["ws0", "ws2", "nope"], limit=10, cursor=None)
    assert [w.id for w in page.items] == ["ws2", "ws0"]
    assert (await store.list_workspaces(ids=[], limit=10, cursor=None)).items == []
    first = await store.list_workspaces(ids=["ws1", "ws2", "ws3"], limit=1, cursor=None)
    rest = await store.list_workspaces(ids=["ws1", "ws2", "ws3"], limit=5, cursor=first.next_cursor)
    assert [w.id for w in first.items + rest.items] == ["ws3", "ws2", "ws1"]


@pytest.mark.parametrize("cursor", ["garbage", "²", "-1", "9" * 40])
async def test_a_cursor_we_did_not_issue_gives_an_empty_page(store: Store, cursor: str) -> None:
    await add_workspace(store)
    page = await store.list_workspaces(ids=None, limit=10, cursor=cursor)
    assert page.items == [] and page.next_cursor is None
    events = await store.list_events(
        "acme", type=None, since=None, until=None, limit=10, cursor=cursor
    )
    assert events.items == []


# -- API keys ----------------------------------------------------------------------


async def test_api_keys(store: Store) -> None:
    await add_workspace(store, "acme")
    await add_workspace(store, "other")
    keys = [
        ApiKey(id=new_id("key"), workspace_id="acme", name=f"k{n}", role=role, created_at=T0)
        for n, role in enumerate([Role.OWNER, Role.MEMBER, Role.PUBLISHER])
    ]
    for n, key in enumerate(keys):
        await store.create_api_key(key, f"hash-{n}")
    foreign = ApiKey(
        id=new_id("key"), workspace_id="other", name="x", role=Role.ADMIN, created_at=T0
    )
    await store.create_api_key(foreign, "hash-foreign")

    assert await store.find_api_key("hash-1") == keys[1]
    assert await store.find_api_key("hash-foreign") == foreign
    assert await store.find_api_key("nope") is None
    assert await store.get_api_key(keys[2].id) == keys[2]

    first = await store.list_api_keys("acme", limit=2, cursor=None)
    rest = await store.list_api_keys("acme", limit=2, cursor=first.next_cursor)
    assert first.items + rest.items == keys[::-1]
    assert rest.next_cursor is None

    assert await store.delete_api_key(keys[1].id)
    assert not await store.delete_api_key(keys[1].id)
    assert await store.find_api_key("hash-1") is None


async def test_an_api_key_hash_is_unique(store: Store) -> None:
    await add_workspace(store)
    key = ApiKey(id=new_id("key"), workspace_id="acme", name="k", role=Role.OWNER, created_at=T0)
    await store.create_api_key(key, "same")
    # Each backend raises its own integrity error.
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        await store.create_api_key(replace(key, id=new_id("key")), "same")
    assert await store.find_api_key("same") == key


# -- event types -------------------------------------------------------------------


async def test_event_types(store: Store) -> None:
    def et(name: str, category: str, **fields: Any) -> EventType:
        values: dict[str, Any] = {
            "name": name,
            "category": category,
            "description": "",
            "versions": {},
            "deprecated": False,
            "archived": False,
            "created_at": T0,
            "updated_at": T0,
            **fields,
        }
        return EventType(**values)

    created = et(
        "course.completed",
        "course",
        versions={
            "1": SchemaVersion(schema={"type": "object"}, example={"a": 1}),
            "2": SchemaVersion(schema={"required": ["b"]}, example={"b": 2}),
            "10": SchemaVersion(schema={"required": ["c"]}),
        },
        deprecated=True,
    )
    assert await store.create_event_type(created)
    assert not await store.create_event_type(et("course.completed", "other"))
    assert await store.create_event_type(et("course/x", "course"))
    assert await store.create_event_type(et("message.sent", "message"))
    assert await store.get_event_type("course.completed") == created
    assert created.latest == "10"
    assert await store.get_event_type("nope") is None

    async def names(**kw: Any) -> list[str]:
        args: dict[str, Any] = {"category": None, "include_archived": False, **kw}
        page = await store.list_event_types(limit=10, cursor=None, **args)
        return [e.name for e in page.items]

    assert await names() == ["message.sent", "course/x", "course.completed"]
    assert await names(category="course") == ["course/x", "course.completed"]
    await store.update_event_type(replace(created, archived=True, description="old"))
    changed = replace(created, versions={"3": SchemaVersion(example={"x": 1})}, deprecated=False)
    await store.update_event_type(changed)
    assert await store.get_event_type("course.completed") == changed
    await store.update_event_type(replace(created, archived=True, description="old"))
    assert await names(category="course") == ["course/x"]
    assert await names(category="course", include_archived=True) == [
        "course/x",
        "course.completed",
    ]
    archived = await store.get_event_type("course.completed")
    assert archived is not None and archived.archived and archived.description == "old"
    page = await store.list_event_types(category=None, include_archived=True, limit=2, cursor=None)
    more = await store.list_event_types(
        category=None, include_archived=True, limit=2, cursor=page.next_cursor
    )
    assert [e.name for e in page.items + more.items] == await names(include_archived=True)


# -- webhooks ----------------------------------------------------------------------


async def test_webhook_round_trip(store: Store) -> None:
    await add_workspace(store)
    wh = a_webhook(
        events=["course/*", "message.created"],
        headers={"Authorization": "Bearer abc"},
        retry_policy=parse_policy({"schedule": [0, 0.5], "onExhausted": "pause"}),
        rate_limit=2.5,
        ordering="fifo",
        metadata={"team": "crm", "n": [1, 2]},
        description="CRM sync",
        forward_headers_on_redirect=True,
    )
    assert await store.create_webhook(wh, "sealed", max_webhooks=10)
    assert await store.get_webhook(wh.id) == wh
    assert await store.get_webhook_secret(wh.id) == "sealed"
    assert await store.get_webhook("wh_nope") is None
    assert await store.get_webhook_secret("wh_nope") is None


async def test_plan_limit(store: Store) -> None:
    await add_workspace(store, "acme")
    await add_workspace(store, "other")
    for _ in range(2):
        assert await store.create_webhook(a_webhook("acme"), "s", max_webhooks=2)
    with pytest.raises(PlanLimitReached):
        await store.create_webhook(a_webhook("acme"), "s", max_webhooks=2)
    # Disabled webhooks count too; other workspaces do not; no limit means none.
    assert await store.create_webhook(a_webhook("other"), "s", max_webhooks=2)
    assert await store.create_webhook(a_webhook("acme"), "s", max_webhooks=None)
    page = await store.list_webhooks("acme", status=None, limit=10, cursor=None)
    assert len(page.items) == 3


async def test_list_and_subscribed_webhooks(store: Store) -> None:
    await add_workspace(store, "acme")
    await add_workspace(store, "other")
    active = await add_webhook(store)
    paused = await add_webhook(store, status=WebhookStatus.PAUSED)
    disabled = await add_webhook(store, status=WebhookStatus.DISABLED)
    await add_webhook(store, "other")

    page = await store.list_webhooks("acme", status=None, limit=2, cursor=None)
    rest = await store.list_webhooks("acme", status=None, limit=2, cursor=page.next_cursor)
    assert [w.id for w in page.items + rest.items] == [disabled.id, paused.id, active.id]
    assert rest.next_cursor is None
    only = await store.list_webhooks("acme", status="paused", limit=10, cursor=None)
    assert only.items == [paused]
    subscribed = await store.subscribed_webhooks("acme")
    assert sorted(w.id for w in subscribed) == sorted([active.id, paused.id])


async def test_update_webhook_fields_and_secret(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    changes = WebhookChanges(
        patch=WebhookPatch(
            url="https://example.org/new",
            events=["a.*"],
            headers={"X-Key": "1"},
            retry_policy=parse_policy({"timeout": 3}),
            metadata={"m": True},
            rate_limit=5.0,
            forward_headers_on_redirect=True,
        ),
        secret="sealed-2",
    )
    await store.update_webhook(wh.id, changes, T0 + 50)
    assert await store.get_webhook(wh.id) == replace(
        wh,
        url="https://example.org/new",
        events=["a.*"],
        headers={"X-Key": "1"},
        retry_policy=parse_policy({"timeout": 3}),
        metadata={"m": True},
        rate_limit=5.0,
        forward_headers_on_redirect=True,
        updated_at=T0 + 50,
    )
    assert await store.get_webhook_secret(wh.id) == "sealed-2"
    clear = WebhookChanges(patch=WebhookPatch(retry_policy=None))
    await store.update_webhook(wh.id, clear, T0 + 60)
    cleared = await store.get_webhook(wh.id)
    assert cleared is not None and cleared.retry_policy is None
    assert cleared.url == "https://example.org/new"  # what the patch left out stays


async def test_delete_webhook_removes_its_deliveries_and_attempts(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    other = await add_webhook(store)
    inserted = await publish(store, wh, other)
    claims = await store.claim_due("A", limit=10, now=T0, lease_ms=LEASE)
    await store.record_attempts("A", [finished(c, SUCCEEDED) for c in claims])
    mine = next(c.delivery_id for c in claims if c.webhook.id == wh.id)

    assert await store.delete_webhook(wh.id)
    assert not await store.delete_webhook(wh.id)
    assert await store.get_webhook(wh.id) is None
    assert await store.get_delivery(mine) is None
    assert await store.list_attempts(mine) == []
    assert [d.webhook_id for d in await deliveries(store)] == [other.id]
    assert await store.get_event(inserted.event.id, ws_id="acme") == inserted.event


# -- events ------------------------------------------------------------------------


async def test_insert_fans_out_to_webhooks_that_are_not_disabled(store: Store) -> None:
    await add_workspace(store)
    active = await add_webhook(store)
    paused = await add_webhook(store, status=WebhookStatus.PAUSED)
    disabled = await add_webhook(store, status=WebhookStatus.DISABLED)
    inserted = await publish(store, active, paused, disabled, created_at=T0 + 7)
    assert inserted.created and inserted.deliveries == 2

    found = {d.webhook_id: d for d in await deliveries(store)}
    assert set(found) == {active.id, paused.id}
    assert found[active.id].status is PENDING
    assert found[paused.id].status is HELD
    for d in found.values():
        assert (d.event_id, d.event_type, d.workspace_id) == (
            inserted.event.id,
            "course.completed",
            "acme",
        )
        assert (d.attempt_count, d.next_attempt_at, d.created_at) == (0, T0 + 7, T0 + 7)
        assert (d.tags, d.resent_from, d.completed_at) == ([], None, None)


async def test_insert_is_idempotent_per_workspace(store: Store) -> None:
    await add_workspace(store, "acme")
    await add_workspace(store, "other")
    a, b = await add_webhook(store), await add_webhook(store)
    original = an_event(id="order-42", data_json='{"v":1}')
    (first,) = await store.insert_events([to(original, a, b)])
    assert first == Inserted(event=original, created=True, deliveries=2)

    again = replace(original, data_json='{"v":2}', created_at=T0 + 1000)
    (second,) = await store.insert_events([to(again, a, b)])
    assert second == Inserted(event=original, created=False, deliveries=2)
    assert len(await deliveries(store)) == 2
    assert await store.get_event("order-42", ws_id="acme") == original

    # The same id in another workspace is another event.
    elsewhere = await add_webhook(store, "other")
    (third,) = await store.insert_events([to(an_event("other", id="order-42"), elsewhere)])
    assert third.created and third.deliveries == 1


async def test_a_repeat_inside_one_batch_is_not_created_twice(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    ev = an_event(id="dup")
    results = await store.insert_events([to(ev, wh), to(ev, wh), to(an_event(), wh)])
    assert [(r.created, r.deliveries) for r in results] == [(True, 1), (False, 1), (True, 1)]
    assert len(await deliveries(store)) == 2


async def test_repeat_count_ignores_resent_deliveries(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    ev = an_event(id="e1")
    await store.insert_events([to(ev, wh)])
    (dlv,) = await deliveries(store)
    await store.resend([dlv.id], new_ids=[new_id("dlv")], tag="resent", now=T0)
    (repeat,) = await store.insert_events([to(ev, wh)])
    assert (repeat.created, repeat.deliveries) == (False, 1)


async def test_get_and_list_events(store: Store) -> None:
    await add_workspace(store, "acme")
    await add_workspace(store, "other")
    evs = [an_event(type="a.one" if n % 2 else "a.two", created_at=T0 + n * 1000) for n in range(5)]
    await store.insert_events([NewEvent(event=e, webhook_ids=[], delivery_ids=[]) for e in evs])
    assert await store.get_event(evs[0].id, ws_id="acme") == evs[0]
    assert await store.get_event(evs[0].id, ws_id=None) == evs[0]
    assert await store.get_event(evs[0].id, ws_id="other") is None

    async def ids(**kw: Any) -> list[str]:
        args: dict[str, Any] = {"type": None, "since": None, "until": None, **kw}
        page = await store.list_events("acme", limit=10, cursor=None, **args)
        return [e.id for e in page.items]

    assert await ids() == [e.id for e in reversed(evs)]
    assert await ids(type="a.one") == [evs[3].id, evs[1].id]
    assert await ids(since=T0 + 1000, until=T0 + 3000) == [evs[2].id, evs[1].id]
    empty = await store.list_events(
        "other", type=None, since=None, until=None, limit=10, cursor=None
    )
    assert empty == Page(items=[], next_cursor=None)
    first = await store.list_events("acme", type=None, since=None, until=None, limit=3, cursor=None)
    rest = await store.list_events(
        "acme", type=None, since=None, until=None, limit=3, cursor=first.next_cursor
    )
    assert [e.id for e in first.items + rest.items] == await ids()
    assert rest.next_cursor is None


# -- held deliveries ---------------------------------------------------------------


async def test_paused_webhooks_hold_deliveries_and_release_them_oldest_first(
    store: Store,
) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    pause = StatusChange(status=WebhookStatus.PAUSED, reason="maintenance", by="key_1", at=T0 + 1)
    await store.update_webhook(wh.id, WebhookChanges(status=pause), T0 + 1)
    paused = await store.get_webhook(wh.id)
    assert paused is not None
    assert (paused.status, paused.status_reason, paused.status_changed_by) == (
        WebhookStatus.PAUSED,
        "maintenance",
        "key_1",
    )
    assert (paused.status_changed_at, paused.updated_at) == (T0 + 1, T0 + 1)

    events = [(await publish(store, wh, created_at=T0 + n)).event for n in range(3)]
    assert {d.status for d in await deliveries(store)} == {HELD}
    assert await store.claim_due("A", limit=10, now=T0 + 10_000, lease_ms=LEASE) == []
    assert await store.next_due_at() is None

    resume = StatusChange(status=WebhookStatus.ACTIVE, reason=None, by="key_2", at=T0 + 500)
    await store.update_webhook(wh.id, WebhookChanges(status=resume), T0 + 500)
    assert {(d.status, d.next_attempt_at) for d in await deliveries(store)} == {(PENDING, T0 + 500)}
    assert await store.next_due_at() == T0 + 500
    claimed = []
    for _ in events:
        claimed += await store.claim_due("A", limit=1, now=T0 + 500, lease_ms=LEASE)
    assert [c.event.id for c in claimed] == [e.id for e in events]


async def test_pausing_holds_pending_deliveries_but_not_others(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    other = await add_webhook(store)
    await publish(store, wh, other)
    await publish(store, wh)
    disable = StatusChange(status=WebhookStatus.DISABLED, reason=None, by="key_1", at=T0)
    await store.update_webhook(wh.id, WebhookChanges(status=disable), T0)
    assert [d.status for d in await deliveries(store, webhook_id=wh.id)] == [HELD, HELD]
    assert [d.status for d in await deliveries(store, webhook_id=other.id)] == [PENDING]
    assert (await publish(store, wh, other)).deliveries == 1


# -- claims and leases -------------------------------------------------------------


async def test_claim_carries_what_the_worker_needs(store: Store) -> None:
    await add_workspace(store, settings=parse_settings({"delivery": {"envelope": "typed"}}))
    wh = await add_webhook(store)
    inserted = await publish(store, wh)
    claim = await claim_one(store, owner="worker-1")
    (dlv,) = await deliveries(store)
    assert claim == Claim(
        delivery_id=dlv.id,
        attempt=1,
        tags=[],
        event=inserted.event,
        webhook=wh,
        webhook_secret="sealed-secret",
        workspace_settings=parse_settings({"delivery": {"envelope": "typed"}}),
    )
    assert dlv.status is SENDING


async def test_a_claimed_delivery_is_not_claimed_again(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    for n in range(5):
        await publish(store, wh, created_at=T0 + n)
    first = await store.claim_due("A", limit=3, now=T0 + 10, lease_ms=LEASE)
    second = await store.claim_due("B", limit=10, now=T0 + 10, lease_ms=LEASE)
    assert len(first) == 3 and len(second) == 2
    assert not {c.delivery_id for c in first} & {c.delivery_id for c in second}
    assert [c.event.created_at for c in first + second] == [T0 + n for n in range(5)]
    assert await store.claim_due("C", limit=10, now=T0 + 10, lease_ms=LEASE) == []
    assert await store.next_due_at() is None


async def test_concurrent_claims_never_share_a_delivery(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await store.insert_events([to(an_event(), wh) for _ in range(60)])
    batches = await asyncio.gather(
        *(store.claim_due(f"w{n}", limit=7, now=T0, lease_ms=LEASE) for n in range(12))
    )
    ids = [c.delivery_id for batch in batches for c in batch]
    assert len(ids) == len(set(ids)) == 60


async def test_deliveries_are_claimed_only_when_due(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await publish(store, wh, created_at=T0 + 5_000)
    assert await store.next_due_at() == T0 + 5_000
    assert await store.claim_due("A", limit=10, now=T0 + 4_999, lease_ms=LEASE) == []
    assert len(await store.claim_due("A", limit=10, now=T0 + 5_000, lease_ms=LEASE)) == 1


async def test_an_expired_lease_returns_the_delivery(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await publish(store, wh)
    claim = await claim_one(store, "A", now=T0)
    assert await store.reclaim_expired(T0 + LEASE) == 0  # the lease runs until T0 + LEASE
    assert await status_of(store, claim.delivery_id) is SENDING
    assert await store.reclaim_expired(T0 + LEASE + 1) == 1
    assert await status_of(store, claim.delivery_id) is PENDING
    retaken = await claim_one(store, "B", now=T0 + LEASE + 1)
    assert (retaken.delivery_id, retaken.attempt) == (claim.delivery_id, 1)


async def test_an_expired_lease_of_a_paused_webhook_goes_back_held(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await publish(store, wh)
    claim = await claim_one(store)
    pause = StatusChange(status=WebhookStatus.PAUSED, reason=None, by="key_1", at=T0)
    await store.update_webhook(wh.id, WebhookChanges(status=pause), T0)
    assert await status_of(store, claim.delivery_id) is SENDING
    assert await store.reclaim_expired(T0 + LEASE + 1) == 1
    assert await status_of(store, claim.delivery_id) is HELD


async def test_renewing_extends_only_the_owners_leases(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await publish(store, wh)
    await publish(store, wh)
    mine = await store.claim_due("A", limit=1, now=T0, lease_ms=LEASE)
    theirs = await store.claim_due("B", limit=1, now=T0, lease_ms=LEASE)
    await store.renew_leases("A", until=T0 + 5 * LEASE)
    assert await store.reclaim_expired(T0 + LEASE + 1) == 1
    assert await status_of(store, theirs[0].delivery_id) is PENDING
    assert await status_of(store, mine[0].delivery_id) is SENDING
    assert await store.reclaim_expired(T0 + 5 * LEASE + 1) == 1
    assert await status_of(store, mine[0].delivery_id) is PENDING


async def test_release_gives_claims_back_unattempted(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    paused_later = await add_webhook(store)
    await publish(store, wh, paused_later)
    claims = {c.webhook.id: c for c in await store.claim_due("A", limit=10, now=T0, lease_ms=LEASE)}
    pause = StatusChange(status=WebhookStatus.PAUSED, reason=None, by="key_1", at=T0)
    await store.update_webhook(paused_later.id, WebhookChanges(status=pause), T0)
    ids = [c.delivery_id for c in claims.values()]

    await store.release("B", ids)  # not the owner: nothing happens
    assert {await status_of(store, i) for i in ids} == {SENDING}
    await store.release("A", ids)
    await store.release("A", [])
    assert await status_of(store, claims[wh.id].delivery_id) is PENDING
    assert await status_of(store, claims[paused_later.id].delivery_id) is HELD
    again = await claim_one(store, "B")
    assert (again.delivery_id, again.attempt) == (claims[wh.id].delivery_id, 1)


# -- recording attempts ------------------------------------------------------------


async def test_recording_a_success(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await publish(store, wh)
    claim = await claim_one(store)
    record = finished(claim, SUCCEEDED, code=204)
    assert await store.record_attempts("A", [record]) == []
    dlv = await store.get_delivery(claim.delivery_id)
    assert dlv is not None
    assert (dlv.status, dlv.attempt_count, dlv.last_status_code, dlv.last_error) == (
        SUCCEEDED,
        1,
        204,
        None,
    )
    assert (dlv.completed_at, dlv.next_attempt_at) == (T0 + 100, None)
    assert await store.list_attempts(claim.delivery_id) == [record.attempt]
    assert await store.reclaim_expired(T0 + 10 * LEASE) == 0


async def test_recording_a_retry_then_a_failure(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await publish(store, wh)
    first = await claim_one(store)
    retry = finished(first, PENDING, code=None, error="timeout", next_at=T0 + 5_000)
    await store.record_attempts("A", [retry])
    dlv = await store.get_delivery(first.delivery_id)
    assert dlv is not None
    assert (dlv.status, dlv.attempt_count, dlv.next_attempt_at) == (PENDING, 1, T0 + 5_000)
    assert (dlv.last_status_code, dlv.last_error, dlv.completed_at) == (None, "timeout", None)
    assert await store.claim_due("B", limit=10, now=T0 + 4_999, lease_ms=LEASE) == []

    second = await claim_one(store, "B", now=T0 + 5_000)
    assert second.attempt == 2
    await store.record_attempts("B", [finished(second, FAILED, code=500)])
    dlv = await store.get_delivery(first.delivery_id)
    assert dlv is not None
    assert (dlv.status, dlv.attempt_count, dlv.last_status_code) == (FAILED, 2, 500)
    attempts = await store.list_attempts(first.delivery_id)
    assert [(a.number, a.error, a.response is None) for a in attempts] == [
        (1, "timeout", True),
        (2, None, False),
    ]


async def test_a_retry_decided_while_the_webhook_was_paused_is_held(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await publish(store, wh)
    claim = await claim_one(store)
    pause = StatusChange(status=WebhookStatus.PAUSED, reason=None, by="key_1", at=T0)
    await store.update_webhook(wh.id, WebhookChanges(status=pause), T0)
    await store.record_attempts("A", [finished(claim, PENDING, code=500, next_at=T0 + 1)])
    assert await status_of(store, claim.delivery_id) is HELD


async def test_a_record_by_a_worker_that_lost_its_lease_changes_nothing(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await publish(store, wh)
    stale = await claim_one(store, "A", now=T0)
    await store.reclaim_expired(T0 + LEASE + 1)
    current = await claim_one(store, "B", now=T0 + LEASE + 1)

    late = finished(stale, FAILED, code=500, pause=True)
    assert await store.record_attempts("A", [late]) == []
    dlv = await store.get_delivery(stale.delivery_id)
    assert dlv is not None
    assert (dlv.status, dlv.attempt_count, dlv.last_status_code) == (SENDING, 0, None)
    webhook = await store.get_webhook(wh.id)
    assert webhook is not None and webhook.status is WebhookStatus.ACTIVE

    await store.record_attempts("B", [finished(current, SUCCEEDED)])
    dlv = await store.get_delivery(stale.delivery_id)
    assert dlv is not None and (dlv.status, dlv.attempt_count) == (SUCCEEDED, 1)
    # Both requests did go out, so both are in the log.
    assert len(await store.list_attempts(stale.delivery_id)) == 2


async def test_an_endpoint_gone_disables_its_webhook_even_when_paused(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await publish(store, wh)
    (claim,) = await store.claim_due("A", limit=10, now=T0, lease_ms=LEASE)
    await publish(store, wh, created_at=T0 + 1)
    # Paused while the attempt was in flight: the 410 still disables it.
    paused = StatusChange(status=WebhookStatus.PAUSED, reason="x", by="k", at=T0 + 1)
    await store.update_webhook(wh.id, WebhookChanges(status=paused), T0 + 1)

    gone = dataclasses.replace(
        finished(claim, FAILED, code=410), stop_webhook=StopReason.ENDPOINT_GONE
    )
    assert await store.record_attempts("A", [gone]) == [(wh.id, StopReason.ENDPOINT_GONE)]
    webhook = await store.get_webhook(wh.id)
    assert webhook is not None
    assert (webhook.status, webhook.status_reason, webhook.status_changed_by) == (
        WebhookStatus.DISABLED,
        "endpoint_gone",
        SYSTEM,
    )
    assert [d.status for d in await deliveries(store, webhook_id=wh.id)] == [HELD, FAILED]
    assert await store.claim_due("A", limit=10, now=T0 + 2, lease_ms=LEASE) == []


async def test_exhaustion_can_pause_the_webhook(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    bystander = await add_webhook(store)
    await publish(store, wh, bystander)
    claims = {c.webhook.id: c for c in await store.claim_due("A", limit=10, now=T0, lease_ms=LEASE)}
    await publish(store, wh, bystander, created_at=T0 + 1)  # waiting behind the failing one

    paused = await store.record_attempts("A", [finished(claims[wh.id], FAILED, pause=True)])
    assert paused == [(wh.id, StopReason.TOO_MANY_FAILURES)]
    webhook = await store.get_webhook(wh.id)
    assert webhook is not None
    assert (webhook.status, webhook.status_reason, webhook.status_changed_by) == (
        WebhookStatus.PAUSED,
        "too_many_failures",
        SYSTEM,
    )
    assert webhook.status_changed_at is not None and webhook.status_changed_at > T0
    assert [d.status for d in await deliveries(store, webhook_id=wh.id)] == [HELD, FAILED]
    assert [d.status for d in await deliveries(store, webhook_id=bystander.id)] == [
        PENDING,
        SENDING,
    ]
    # A webhook already paused is not paused again.
    await store.record_attempts("A", [finished(claims[bystander.id], FAILED)])
    (claim,) = await store.claim_due("A", limit=10, now=T0 + 1, lease_ms=LEASE)
    assert claim.webhook.id == bystander.id
    resumed = StatusChange(status=WebhookStatus.ACTIVE, reason=None, by="k", at=T0 + 2)
    await store.update_webhook(wh.id, WebhookChanges(status=resumed), T0 + 2)
    (held,) = await store.claim_due("A", limit=10, now=T0 + 2, lease_ms=LEASE)
    pause_again = StatusChange(status=WebhookStatus.PAUSED, reason="x", by="k", at=T0 + 3)
    await store.update_webhook(wh.id, WebhookChanges(status=pause_again), T0 + 3)
    assert await store.record_attempts("A", [finished(held, FAILED, pause=True)]) == []
    webhook = await store.get_webhook(wh.id)
    assert webhook is not None and webhook.status_reason == "x"


async def test_recording_for_a_deleted_webhook_does_not_fail(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    other = await add_webhook(store)
    await publish(store, wh, other)
    claims = await store.claim_due("A", limit=10, now=T0, lease_ms=LEASE)
    await store.delete_webhook(wh.id)
    assert await store.record_attempts("A", [finished(c, SUCCEEDED) for c in claims]) == []
    kept = next(c for c in claims if c.webhook.id == other.id)
    assert await status_of(store, kept.delivery_id) is SUCCEEDED


# -- resend, recover, test deliveries ----------------------------------------------


async def test_resend(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    disabled = await add_webhook(store)
    inserted = await publish(store, wh, disabled)
    claims = await store.claim_due("A", limit=10, now=T0, lease_ms=LEASE)
    await store.record_attempts("A", [finished(c, FAILED, code=500) for c in claims])
    off = StatusChange(status=WebhookStatus.DISABLED, reason=None, by="k", at=T0)
    await store.update_webhook(disabled.id, WebhookChanges(status=off), T0)
    original = {c.webhook.id: c.delivery_id for c in claims}

    new_id_ = new_id("dlv")
    (copy,) = await store.resend([original[wh.id]], new_ids=[new_id_], tag="resent", now=T0 + 9)
    assert (copy.id, copy.resent_from, copy.tags, copy.status) == (
        new_id_,
        original[wh.id],
        ["resent"],
        PENDING,
    )
    assert (copy.event_id, copy.webhook_id, copy.next_attempt_at, copy.attempt_count) == (
        inserted.event.id,
        wh.id,
        T0 + 9,
        0,
    )
    assert await store.get_delivery(copy.id) == copy
    assert await store.get_event_of_delivery(copy.id) == inserted.event
    assert (
        await store.resend([original[disabled.id]], new_ids=[new_id("dlv")], tag="resent", now=T0)
        == []
    )
    claim = await claim_one(store, now=T0 + 9)
    assert (claim.delivery_id, claim.attempt, claim.tags) == (copy.id, 1, ["resent"])


async def test_resend_to_a_paused_webhook_is_held(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store, status=WebhookStatus.PAUSED)
    await publish(store, wh)
    (dlv,) = await deliveries(store)
    (copy,) = await store.resend([dlv.id], new_ids=[new_id("dlv")], tag="recovered", now=T0)
    assert (copy.status, copy.tags) == (HELD, ["recovered"])


async def test_recoverable_picks_by_window_and_status(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    other = await add_webhook(store)
    outcomes = [FAILED, SUCCEEDED, FAILED, FAILED]
    for n, _ in enumerate(outcomes):
        await publish(store, wh, other, created_at=T0 + n * 1000)
    claims = await store.claim_due("A", limit=20, now=T0 + 10_000, lease_ms=LEASE)
    mine = sorted((c for c in claims if c.webhook.id == wh.id), key=lambda c: c.event.created_at)
    records = [finished(c, s) for c, s in zip(mine, outcomes, strict=True)]
    records += [finished(c, FAILED) for c in claims if c.webhook.id == other.id]
    await store.record_attempts("A", records)
    ids = [c.delivery_id for c in mine]

    found = await store.recoverable(wh.id, since=T0, until=None, statuses=["failed"])
    assert found == [ids[0], ids[2], ids[3]]
    found = await store.recoverable(wh.id, since=T0 + 1, until=T0 + 3000, statuses=["failed"])
    assert found == [ids[2]]
    both = await store.recoverable(wh.id, since=T0, until=None, statuses=["failed", "succeeded"])
    assert both == ids


async def test_test_delivery(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    event = an_event(type="test", data_json="{}")
    dlv = await store.insert_test_delivery(event, wh.id, "dlv_test")
    assert (dlv.id, dlv.status, dlv.tags, dlv.event_id, dlv.next_attempt_at) == (
        "dlv_test",
        PENDING,
        ["test"],
        event.id,
        T0,
    )
    assert await store.get_event(event.id, ws_id="acme") == event
    claim = await claim_one(store)
    assert (claim.delivery_id, claim.tags, claim.event) == ("dlv_test", ["test"], event)


# -- the Send Logs -----------------------------------------------------------------


async def test_list_deliveries_filters(store: Store) -> None:
    await add_workspace(store, "acme")
    await add_workspace(store, "other")
    a, b = await add_webhook(store), await add_webhook(store)
    c = await add_webhook(store, "other")
    e1 = (await publish(store, a, b, type="course.completed", data_json='{"user":"ada"}')).event
    e2 = (
        await publish(
            store, a, type="message.sent", data_json='{"text":"100% of_it"}', created_at=T0 + 10
        )
    ).event
    e3 = (await publish(store, c, type="course.completed", data_json='{"user":"ada"}')).event
    (claim,) = await store.claim_due("A", limit=1, now=T0, lease_ms=LEASE)
    await store.record_attempts("A", [finished(claim, SUCCEEDED)])

    async def events_of(**flt: Any) -> list[tuple[str, str]]:
        return [(d.event_id, d.webhook_id) for d in await deliveries(store, **flt)]

    assert await events_of(workspace_id="acme") == [(e2.id, a.id), (e1.id, b.id), (e1.id, a.id)]
    assert await events_of(workspace_id="other") == [(e3.id, c.id)]
    assert await events_of(webhook_id=a.id) == [(e2.id, a.id), (e1.id, a.id)]
    assert await events_of(workspace_id="acme", event_type="message.sent") == [(e2.id, a.id)]
    assert await events_of(event_id=e1.id) == [(e1.id, b.id), (e1.id, a.id)]
    assert await events_of(status="succeeded") == [(claim.event.id, claim.webhook.id)]
    assert len(await events_of(status="pending")) == 3
    assert await events_of(workspace_id="acme", since=T0 + 10) == [(e2.id, a.id)]
    assert await events_of(workspace_id="acme", until=T0 + 10) == [(e1.id, b.id), (e1.id, a.id)]
    assert await events_of(webhook_id=a.id, status="failed") == []


@pytest.mark.parametrize(
    ("q", "hits"),
    [
        ("ada", ["e1", "e3"]),
        ("ADA", ["e1", "e3"]),
        ("message.sent", ["e2"]),
        ("100%", ["e2"]),
        ("of_it", ["e2"]),
        ("%", ["e2"]),
        ("_", ["e1", "e2", "e3"]),  # every event id has one (order_1)
        ("order_2", ["e2"]),
        ("o%t", []),  # a literal %, not a wildcard
        ("d_r", []),  # a literal _, not a wildcard
        ("nobody", []),
    ],
)
async def test_list_deliveries_searches_ids_types_and_payloads(
    store: Store, q: str, hits: list[str]
) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    docs = {
        "e1": ("order_1", "course.completed", '{"user":"ada"}'),
        "e2": ("order_2", "message.sent", '{"text":"100% of_it"}'),
        "e3": ("order_3", "course.completed", '{"user":"Ada Lovelace"}'),
    }
    for event_id, type_, data in docs.values():
        await publish(store, wh, id=event_id, type=type_, data_json=data)
    names = {v[0]: k for k, v in docs.items()}
    found = await deliveries(store, workspace_id="acme", q=q)
    assert sorted(names[d.event_id] for d in found) == hits


async def test_list_deliveries_pages(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await store.insert_events([to(an_event(), wh) for _ in range(7)])
    everything = await deliveries(store)
    pages = []
    cursor = None
    while True:
        page = await store.list_deliveries(DeliveryFilter(webhook_id=wh.id), limit=3, cursor=cursor)
        pages.append(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [d for p in pages for d in p] == everything
    assert [d.id for d in everything] == sorted((d.id for d in everything), reverse=True)


async def test_event_deliveries_and_attempts(store: Store) -> None:
    await add_workspace(store)
    a, b = await add_webhook(store), await add_webhook(store)
    inserted = await publish(store, a, b)
    found = await store.list_event_deliveries("acme", inserted.event.id)
    assert sorted(d.webhook_id for d in found) == sorted([a.id, b.id])
    assert [d.id for d in found] == sorted(d.id for d in found)
    assert await store.list_event_deliveries("other", inserted.event.id) == []
    assert await store.get_event_of_delivery("dlv_nope") is None
    assert await store.get_delivery("dlv_nope") is None


# -- retention ---------------------------------------------------------------------


async def test_purge_removes_old_events_with_their_deliveries_in_batches(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    old = [(await publish(store, wh, created_at=T0 - 10_000 + n)).event for n in range(5)]
    new = [(await publish(store, wh, created_at=T0 + n)).event for n in range(2)]
    claims = await store.claim_due("A", limit=100, now=T0 + 10, lease_ms=LEASE)
    await store.record_attempts("A", [finished(c, FAILED) for c in claims])
    old_dlvs = [c.delivery_id for c in claims if c.event.created_at < T0]
    new_dlvs = [c.delivery_id for c in claims if c.event.created_at >= T0]
    assert len(old_dlvs) == 5 and len(new_dlvs) == 2

    assert [await store.purge_expired(T0, batch=2) for _ in range(4)] == [2, 2, 1, 0]
    for ev in old:
        assert await store.get_event(ev.id, ws_id=None) is None
    for dlv_id in old_dlvs:
        assert await store.get_delivery(dlv_id) is None
        assert await store.list_attempts(dlv_id) == []
    for ev in new:
        assert await store.get_event(ev.id, ws_id=None) == ev
    for dlv_id in new_dlvs:
        assert await store.get_delivery(dlv_id) is not None
        assert len(await store.list_attempts(dlv_id)) == 1
    # A purged idempotency key may be used again.
    (again,) = await store.insert_events([to(replace(old[0], created_at=T0 + 50), wh)])
    assert again.created


# -- UI sessions -------------------------------------------------------------------


def a_ui_session(n: int, **fields: Any) -> UiSession:
    values: dict[str, Any] = {
        "id": f"{n:064x}",
        "kind": "key",
        "issued_by": "admin",
        "created_at": T0,
        "expires_at": T0 + 60_000,
        "api_key": f"sealed-{n}",
        **fields,
    }
    return UiSession(**values)


def a_portal_session(n: int, issued_by: str, **fields: Any) -> UiSession:
    return a_ui_session(
        n, kind="portal", issued_by=issued_by, api_key=None, workspace_id="acme", **fields
    )


async def test_a_ui_session_lives_until_it_expires_or_ends(store: Store) -> None:
    key = a_ui_session(1)
    portal = a_portal_session(2, "key_issuer")
    await store.create_ui_session(key)
    await store.create_ui_session(portal)
    assert await store.get_ui_session(key.id, now=T0) == key
    assert await store.get_ui_session(portal.id, now=T0 + 59_999) == portal
    assert await store.get_ui_session(portal.id, now=T0 + 60_000) is None
    assert await store.get_ui_session("unknown", now=T0) is None
    assert await store.delete_ui_session(key.id)
    assert not await store.delete_ui_session(key.id)
    assert await store.get_ui_session(key.id, now=T0) is None
    assert await store.get_ui_session(portal.id, now=T0) == portal


async def test_revoking_a_key_deletes_the_portal_sessions_it_issued(store: Store) -> None:
    issued = [a_portal_session(n, "key_one") for n in range(3)]
    other = a_portal_session(3, "key_two")
    own = a_ui_session(4, issued_by="key_one")
    for session in [*issued, other, own]:
        await store.create_ui_session(session)
    assert await store.delete_portal_sessions("key_one") == 3
    for session in issued:
        assert await store.get_ui_session(session.id, now=T0) is None
    # Another key's links, and the key's own sign-in (it is authenticated each request), stay.
    assert await store.get_ui_session(other.id, now=T0) == other
    assert await store.get_ui_session(own.id, now=T0) == own
    assert await store.delete_portal_sessions("key_one") == 0


async def test_a_portal_link_is_redeemed_once_even_at_the_same_time(
    store: Store, store_factory: Callable[[], Store]
) -> None:
    second = store_factory()  # another process on the same database
    await second.open()
    tries = [s.redeem_portal_link("link-1", expires_at=T0) for s in (store, second) * 4]
    assert sorted(await asyncio.gather(*tries)) == [False] * 7 + [True]
    assert not await store.redeem_portal_link("link-1", expires_at=T0)
    assert await store.redeem_portal_link("link-2", expires_at=T0)


async def test_purging_removes_expired_sessions_and_redemptions(store: Store) -> None:
    old, live = a_ui_session(1, expires_at=T0 - 1), a_portal_session(2, "admin")
    await store.create_ui_session(old)
    await store.create_ui_session(live)
    assert await store.redeem_portal_link("old-link", expires_at=T0 - 1)
    assert await store.redeem_portal_link("live-link", expires_at=T0 + 1)
    assert await store.purge_ui_sessions(T0) == 2
    assert await store.purge_ui_sessions(T0) == 0
    assert await store.get_ui_session(live.id, now=T0) == live
    assert await store.get_ui_session(old.id, now=T0 - 10) is None
    assert not await store.redeem_portal_link("live-link", expires_at=T0 + 1)
    # A purged link has expired: its redemption record is no longer needed.
    assert await store.redeem_portal_link("old-link", expires_at=T0 - 1)


async def test_an_idempotent_answer_is_kept_once_per_caller_until_purged(store: Store) -> None:
    first = KeptAnswer(request="POST /api/v1/app?", status=201, body='{"id":"a"}')
    second = KeptAnswer(request="POST /api/v1/app?", status=201, body='{"id":"b"}')
    await store.keep_answer("key_1", "k", first, now=T0)
    await store.keep_answer("key_1", "k", second, now=T0 + 1)
    await store.keep_answer("key_2", "k", second, now=T0 + 5)
    assert await store.get_answer("key_1", "k") == first
    assert await store.get_answer("key_2", "k") == second
    assert await store.get_answer("key_1", "other") is None
    assert await store.purge_answers(T0 + 1) == 1
    assert await store.get_answer("key_1", "k") is None
    assert await store.get_answer("key_2", "k") == second


# -- schema ------------------------------------------------------------------------


async def test_migrate_is_idempotent(store: Store, store_factory: Callable[[], Store]) -> None:
    assert await store.migrate() == []
    second = store_factory()
    await second.open()
    assert await second.migrate() == []
    await second.ping()


@pytest.mark.empty_database
async def test_concurrent_first_migrations_both_succeed(
    store_factory: Callable[[], Store], backend: str
) -> None:
    stores = [store_factory() for _ in range(4)]
    results = await asyncio.gather(*(s.migrate() for s in stores))
    # Every migration applied exactly once, whichever store won each (SQLite: one file at a time).
    versions = sorted(v for r in results for v in r)
    assert versions == [name.removesuffix(".sql") for name, _ in _scripts(backend)]
    for s in stores:
        await add_workspace(s, f"ws{id(s)}")  # every connection is usable afterwards


def _scripts(backend: str = "sqlite") -> list[tuple[str, str]]:
    folder = resources.files("hookline.store") / "migrations" / backend
    return sorted((f.name, f.read_text()) for f in folder.iterdir() if f.name.endswith(".sql"))


def _sqlite_schema(conn: sqlite3.Connection) -> set[tuple[str, str, str, str]]:
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'"
    ).fetchall()
    return {(t, n, tbl, " ".join((sql or "").split())) for t, n, tbl, sql in rows}


async def test_a_fresh_migrate_equals_the_migration_files(store: Store, database: str) -> None:
    if not database.startswith("sqlite:///"):
        pytest.skip("compares SQLite's catalog")
    reference = sqlite3.connect(":memory:")
    for _name, sql in _scripts():
        reference.executescript(sql)
    expected = _sqlite_schema(reference)
    reference.close()

    migrated = sqlite3.connect(Path(database.removeprefix("sqlite:///")))
    try:
        actual = _sqlite_schema(migrated)
        versions = [r[0] for r in migrated.execute("SELECT version FROM schema_migrations")]
    finally:
        migrated.close()
    assert {n for t, n, _, _ in expected if t == "table"} >= {
        "workspaces",
        "api_keys",
        "event_types",
        "webhooks",
        "events",
        "deliveries",
        "attempts",
    }
    assert actual == expected
    assert sorted(versions) == [name for name, _ in _scripts()]


# -- custom headers at rest ---------------------------------------------------------

SEKRIT = "sekrit-123"


async def raw_webhooks(database: str) -> str:
    """Every column of every webhook, read past the store (sqlite3 or asyncpg), as one text."""
    if database.startswith("sqlite:///"):
        conn = sqlite3.connect(database.removeprefix("sqlite:///"))
        try:
            return repr(conn.execute("SELECT * FROM webhooks").fetchall())
        finally:
            conn.close()
    pg = await asyncpg.connect(database)
    try:
        return repr([r[0] for r in await pg.fetch("SELECT w::text FROM webhooks w")])
    finally:
        await pg.close()


async def write_raw_headers(database: str, wh_id: str, column: str) -> None:
    """Set a webhook's ``headers`` column directly, as an older version would have written it."""
    if database.startswith("sqlite:///"):
        conn = sqlite3.connect(database.removeprefix("sqlite:///"))
        try:
            conn.execute("UPDATE webhooks SET headers = ? WHERE id = ?", (column, wh_id))
            conn.commit()
        finally:
            conn.close()
        return
    pg = await asyncpg.connect(database)
    try:
        await pg.execute("UPDATE webhooks SET headers = $1 WHERE id = $2", column, wh_id)
    finally:
        await pg.close()


async def test_custom_headers_are_sealed_in_the_database(store: Store, database: str) -> None:
    await add_workspace(store)
    headers = {"Authorization": f"Bearer {SEKRIT}", "X-Tenant": "tenant-77"}
    wh = await add_webhook(store, headers=headers)
    raw = await raw_webhooks(database)
    assert wh.id in raw  # the rows are there
    for clear in (SEKRIT, "tenant-77", "Authorization", "X-Tenant"):
        assert clear not in raw, f"{clear!r} is stored in clear"
    assert (await store.get_webhook(wh.id)) == wh
    await publish(store, wh)
    assert (await claim_one(store)).webhook.headers == headers

    changed = {"Authorization": "Bearer rotated-456"}
    await store.update_webhook(wh.id, WebhookChanges(patch=WebhookPatch(headers=changed)), T0 + 1)
    assert "rotated-456" not in await raw_webhooks(database)
    found = await store.get_webhook(wh.id)
    assert found is not None and found.headers == changed
    page = await store.list_webhooks("acme", status=None, limit=10, cursor=None)
    assert [w.headers for w in page.items] == [changed]


async def test_headers_an_older_version_stored_in_clear_are_sealed_on_upgrade(
    store: Store, store_factory: Callable[[], Store], database: str
) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    legacy = {"Authorization": f"Bearer {SEKRIT}"}
    await write_raw_headers(database, wh.id, json.dumps(legacy))
    assert SEKRIT in await raw_webhooks(database)
    # Read as it is until then (an older process may still write such rows while upgrading) ...
    found = await store.get_webhook(wh.id)
    assert found is not None and found.headers == legacy

    # ... and sealed by the next start (which seals them once the key is checked).
    upgraded = store_factory()
    await upgraded.open()
    assert await upgraded.seal_plain_headers() == 1
    assert SEKRIT not in await raw_webhooks(database)
    for reader in (store, upgraded):
        found = await reader.get_webhook(wh.id)
        assert found is not None and found.headers == legacy
    await publish(store, wh)
    assert (await claim_one(upgraded)).webhook.headers == legacy


# -- faults of Hookline's own and the key check -----------------------------------


async def test_defer_puts_a_claim_back_without_an_attempt(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await publish(store, wh)
    claim = await claim_one(store, "A")
    assert claim.internal_faults == 0

    assert not await store.defer("B", claim.delivery_id, until=T0 + 5_000, error="internal_error")
    assert await status_of(store, claim.delivery_id) is SENDING
    assert await store.defer("A", claim.delivery_id, until=T0 + 5_000, error="internal_error")
    dlv = await store.get_delivery(claim.delivery_id)
    assert dlv is not None
    assert (dlv.status, dlv.attempt_count, dlv.next_attempt_at) == (PENDING, 0, T0 + 5_000)
    assert (dlv.last_error, dlv.completed_at) == ("internal_error", None)
    assert await store.list_attempts(claim.delivery_id) == []
    assert await store.reclaim_expired(T0 + 10 * LEASE) == 0  # the lease went with it
    # Only a claim can be deferred, and only once.
    assert not await store.defer("A", claim.delivery_id, until=T0, error="internal_error")
    assert await store.claim_due("A", limit=10, now=T0 + 4_999, lease_ms=LEASE) == []

    again = await claim_one(store, "B", now=T0 + 5_000)
    assert (again.attempt, again.internal_faults) == (1, 1)
    assert await store.defer("B", again.delivery_id, until=T0 + 6_000, error="internal_error")
    third = await claim_one(store, "A", now=T0 + 6_000)
    assert (third.attempt, third.internal_faults) == (1, 2)
    # A real attempt starts the count of faults in a row again.
    await store.record_attempts("A", [finished(third, PENDING, code=500, next_at=T0 + 7_000)])
    fourth = await claim_one(store, "A", now=T0 + 7_000)
    assert (fourth.attempt, fourth.internal_faults) == (2, 0)


async def test_a_delivery_deferred_again_and_again_is_stuck_until_an_attempt(
    store: Store,
) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await publish(store, wh)
    reason = "internal_error: prepare: InvalidToken"
    now = T0
    for faults in range(STUCK_AFTER_FAULTS):
        claim = await claim_one(store, now=now)
        assert claim.internal_faults == faults
        now += 1_000
        assert await store.defer("A", claim.delivery_id, until=now, error=reason)
        dlv = await store.get_delivery(claim.delivery_id)
        assert dlv is not None
        assert (dlv.internal_faults, dlv.stuck) == (faults + 1, faults + 1 >= STUCK_AFTER_FAULTS)
        assert (dlv.status, dlv.attempt_count, dlv.last_error) == (PENDING, 0, reason)
    stuck_id = claim.delivery_id
    await publish(store, wh)  # another delivery, due and never faulted
    assert [d.id for d in await deliveries(store, webhook_id=wh.id, stuck=True)] == [stuck_id]
    assert [d.id for d in await deliveries(store, workspace_id="acme", stuck=True)] == [stuck_id]
    (fine,) = await deliveries(store, webhook_id=wh.id, stuck=False)
    assert fine.id != stuck_id and not fine.stuck
    stats = await store.queue_stats()
    assert (stats.counts, stats.stuck) == ({"pending": 2}, 1)

    # Claimed again it stays stuck while it is sent; its first attempt ends that.
    claims = await store.claim_due("A", limit=10, now=now, lease_ms=LEASE)
    (again,) = [c for c in claims if c.delivery_id == stuck_id]
    assert (await store.queue_stats()).stuck == 1
    assert [d.id for d in await deliveries(store, webhook_id=wh.id, stuck=True)] == [stuck_id]
    await store.record_attempts("A", [finished(again, PENDING, code=500, next_at=now + 1_000)])
    dlv = await store.get_delivery(stuck_id)
    assert dlv is not None and (dlv.internal_faults, dlv.stuck) == (0, False)
    assert await deliveries(store, webhook_id=wh.id, stuck=True) == []
    assert (await store.queue_stats()).stuck == 0


async def test_a_claim_of_a_paused_webhook_is_deferred_held(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await publish(store, wh)
    claim = await claim_one(store)
    pause = StatusChange(status=WebhookStatus.PAUSED, reason=None, by="key_1", at=T0)
    await store.update_webhook(wh.id, WebhookChanges(status=pause), T0)
    assert await store.defer("A", claim.delivery_id, until=T0 + 1, error="internal_error")
    assert await status_of(store, claim.delivery_id) is HELD


async def test_the_key_check_is_written_once(store: Store) -> None:
    assert await store.key_check() is None
    assert await store.set_key_check("first", now=T0) == "first"
    assert await store.set_key_check("second", now=T0 + 1) == "first"
    assert await store.key_check() == "first"


@pytest.mark.empty_database
async def test_processes_starting_at_once_agree_on_the_key_check(
    store_factory: Callable[[], Store],
) -> None:
    stores = [store_factory() for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    stored = await asyncio.gather(
        *(s.set_key_check(f"token-{n}", now=T0) for n, s in enumerate(stores))
    )
    assert len(set(stored)) == 1, stored
    assert {await s.key_check() for s in stores} == set(stored)


async def test_any_webhook_secret(store: Store) -> None:
    assert await store.any_webhook_secret() is None
    await add_workspace(store)
    await add_webhook(store)
    assert await store.any_webhook_secret() == "sealed-secret"


def started(record: AttemptRecord, at: int) -> AttemptRecord:
    return replace(record, attempt=replace(record.attempt, started_at=at))


async def test_webhook_health_counts_attempts_of_pending_deliveries_too(store: Store) -> None:
    await add_workspace(store)
    failing, healthy, quiet, waiting = [await add_webhook(store) for _ in range(4)]
    hour = 3_600_000
    # failing: a success, then a delivery that failed, then one still retrying (2 failures)
    await publish(store, failing)
    await store.record_attempts("A", [started(finished(await claim_one(store), SUCCEEDED), T0)])
    await publish(store, failing)
    gave_up = finished(await claim_one(store), FAILED, code=500)
    await store.record_attempts("A", [started(gave_up, T0 + hour)])
    await publish(store, failing)
    for at in (T0 + hour + 1, T0 + 2 * hour):
        retry = finished(await claim_one(store, now=at), PENDING, code=None, error="dns_error")
        await store.record_attempts("A", [started(replace(retry, next_attempt_at=at + 1), at)])
    # healthy: a failure, then a success
    await publish(store, healthy)
    await store.record_attempts(
        "A", [started(finished(await claim_one(store), FAILED, code=503), T0 + 5)]
    )
    await publish(store, healthy)
    await store.record_attempts(
        "A", [started(finished(await claim_one(store), SUCCEEDED, code=204), T0 + 6)]
    )
    await publish(store, waiting)

    hour0 = T0 // hour * hour
    health = await store.webhook_health(
        [failing.id, healthy.id, quiet.id, waiting.id], since=hour0 + hour
    )
    assert health == {
        failing.id: EndpointHealth(
            last_outcome="failure",
            last_at=T0 + 2 * hour,
            last_status_code=None,
            last_error="dns_error",
            failure_streak=3,
            hours=(
                AttemptHour(start=hour0 + hour, succeeded=0, failed=2),
                AttemptHour(start=hour0 + 2 * hour, succeeded=0, failed=1),
            ),
        ),
        healthy.id: EndpointHealth(
            last_outcome="success",
            last_at=T0 + 6,
            last_status_code=204,
            last_error=None,
            failure_streak=0,
        ),
    }
    everything = await store.webhook_health([healthy.id], since=0)
    assert everything[healthy.id].hours == (AttemptHour(start=hour0, succeeded=1, failed=1),)
    assert await store.webhook_health([], since=0) == {}


async def test_the_failure_streak_is_counted_up_to_its_limit(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await publish(store, wh)
    for n in range(FAILURE_STREAK_LIMIT + 2):
        claim = await claim_one(store, now=T0 + n)
        record = finished(claim, PENDING, code=500, next_at=T0 + n + 1)
        await store.record_attempts("A", [started(record, T0 + n)])
    health = await store.webhook_health([wh.id], since=T0)
    assert health[wh.id].failure_streak == FAILURE_STREAK_LIMIT
    assert sum(h.failed for h in health[wh.id].hours) == FAILURE_STREAK_LIMIT + 2


async def test_retry_now_moves_a_pending_deliverys_next_attempt(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    await publish(store, wh)
    claim = await claim_one(store)
    await store.record_attempts("A", [finished(claim, PENDING, code=500, next_at=T0 + 60_000)])
    moved = await store.retry_now(claim.delivery_id, now=T0 + 1_000)
    assert moved is not None
    assert (moved.status, moved.next_attempt_at, moved.attempt_count) == (PENDING, T0 + 1_000, 1)
    again = await claim_one(store, now=T0 + 1_000)
    assert (again.delivery_id, again.attempt) == (claim.delivery_id, 2)
    assert len(await deliveries(store, webhook_id=wh.id)) == 1

    await store.record_attempts("A", [finished(again, SUCCEEDED)])
    done = await store.retry_now(claim.delivery_id, now=T0 + 2_000)
    assert done is not None and (done.status, done.next_attempt_at) == (SUCCEEDED, None)
    assert await store.retry_now("dlv_unknown", now=T0) is None


async def test_retry_now_keeps_fifo_order(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store, ordering="fifo")
    first = (await publish(store, wh)).event
    await publish(store, wh)
    head = await claim_one(store)
    await store.record_attempts("A", [finished(head, PENDING, code=500, next_at=T0 + 60_000)])
    behind = next(d for d in await deliveries(store, webhook_id=wh.id) if d.id != head.delivery_id)
    assert head.event.id == first.id
    kept = await store.retry_now(behind.id, now=T0 + 1_000)
    assert kept is not None and kept.next_attempt_at == behind.next_attempt_at
    moved = await store.retry_now(head.delivery_id, now=T0 + 1_000)
    assert moved is not None and moved.next_attempt_at == T0 + 1_000


async def test_retry_now_leaves_a_held_delivery_held(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store, status=WebhookStatus.PAUSED)
    await publish(store, wh)
    (held,) = await deliveries(store, webhook_id=wh.id)
    kept = await store.retry_now(held.id, now=T0 + 1_000)
    assert kept == held
