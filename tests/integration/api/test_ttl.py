"""Per-event ttl through the API, on SQLite and on PostgreSQL: ``ttl`` on an event (single
or in a batch) or as the workspace's default; a delivery whose event expired before its next
attempt ends ``expired``, is listed under that status, and is recovered only when asked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.app import Api, MakeApi, assert_error
from support.postgres import BACKENDS, POSTGRES_URL, with_database

from hookline.domain.limits import MAX_TTL
from hookline.ids import parse_time


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """ "" (the data directory's SQLite file) or a fresh copy of the migrated PostgreSQL
    template, dropped after the API that used it is closed."""
    if request.param == "sqlite":
        yield ""
        return
    databases = request.getfixturevalue("postgres_databases")
    name = databases.take()
    yield with_database(POSTGRES_URL, name)
    databases.give_back(name)


@pytest.fixture
async def api(database_url: str, make_api: MakeApi) -> Api:
    return await make_api(database_url=database_url)


async def only_delivery(api: Api, event_id: str) -> dict[str, Any]:
    (delivery,) = (await api.ok("GET", f"/v1/events/{event_id}"))["deliveries"]
    assert isinstance(delivery, dict)
    return delivery


async def claim_at(api: Api, at: int) -> list[str]:
    """What a dispatcher's claim at ``at`` (epoch ms) takes; the expired ones it ends."""
    ended: list[str] = []
    await api.store.claim_due("worker", limit=100, now=at, lease_ms=60_000, expired=ended)
    return ended


async def test_a_delivery_whose_event_expired_ends_expired_unattempted(api: Api, ws: str) -> None:
    hook = await api.webhook(ws)
    short = await api.event(ws, ttl=30)
    lasting = await api.event(ws)
    created = parse_time(short["createdAt"])
    assert await claim_at(api, created - 1) == []  # claimed in time: sending, not expired
    await api.store.reclaim_expired(created + 10**9)  # its lease runs out: pending again
    dlv = await only_delivery(api, short["id"])
    assert await claim_at(api, created + 30_001) == [dlv["id"]]

    shown = await api.ok("GET", f"/v1/deliveries/{dlv['id']}")
    assert (shown["status"], shown["attemptCount"], shown["attempts"]) == ("expired", 0, [])
    assert shown["completedAt"] is not None and shown["nextAttemptAt"] is None
    assert (await only_delivery(api, lasting["id"]))["status"] == "sending"
    for path in (f"/v1/webhooks/{hook['id']}/deliveries", f"/v1/workspaces/{ws}/deliveries"):
        listed = await api.ok("GET", path, params={"status": "expired"})
        assert [d["id"] for d in listed] == [dlv["id"]]


async def test_the_workspace_default_applies_to_events_without_their_own(api: Api, ws: str) -> None:
    await api.webhook(ws)
    changed = await api.ok("PATCH", f"/v1/workspaces/{ws}", json={"settings": {"ttl": 60}})
    assert changed["settings"]["ttl"] == 60
    by_default = await api.event(ws)
    own = await api.event(ws, ttl=3600)
    created = parse_time(own["createdAt"])
    ended = await claim_at(api, created + 120_000)
    assert ended == [(await only_delivery(api, by_default["id"]))["id"]]
    assert (await only_delivery(api, own["id"]))["status"] == "sending"


async def test_a_batch_takes_a_ttl_per_event(api: Api, ws: str) -> None:
    await api.webhook(ws)
    events = [
        {"type": "order.paid", "data": {}, "ttl": 5},
        {"type": "order.paid", "data": {}},
        {"type": "order.paid", "data": {}, "ttl": 0},
    ]
    results = await api.ok("POST", f"/v1/workspaces/{ws}/events/batch", json={"events": events})
    assert [r["status"] for r in results] == [202, 202, 422]
    assert results[2]["error"]["code"] == "invalid_ttl"
    first, second = (r["data"] for r in results[:2])
    ended = await claim_at(api, parse_time(first["createdAt"]) + 5_001)
    assert ended == [(await only_delivery(api, first["id"]))["id"]]
    assert (await only_delivery(api, second["id"]))["status"] == "sending"


@pytest.mark.parametrize("ttl", [0, -1, MAX_TTL + 1, 2.5, "60", True, None])
async def test_an_invalid_ttl_is_422(api: Api, ws: str, ttl: Any) -> None:
    body = {"type": "order.paid", "data": {}, "ttl": ttl}
    response = await api.post(f"/v1/workspaces/{ws}/events", json=body)
    if ttl is None:  # null: the workspace's default
        assert response.status_code == 202
        return
    error = assert_error(response, 422, "invalid_ttl")
    assert str(MAX_TTL) in error["message"]


@pytest.mark.parametrize("ttl", [0, MAX_TTL + 1, 1.5, "1h"])
async def test_an_invalid_default_ttl_is_invalid_settings(api: Api, ws: str, ttl: Any) -> None:
    response = await api.patch(f"/v1/workspaces/{ws}", json={"settings": {"ttl": ttl}})
    error = assert_error(response, 422, "invalid_settings")
    assert "settings.ttl" in error["message"]


async def test_recover_resends_expired_deliveries_only_when_asked(api: Api, ws: str) -> None:
    hook = await api.webhook(ws)
    short = await api.event(ws, ttl=1)
    await claim_at(api, parse_time(short["createdAt"]) + 1_001)
    expired = await only_delivery(api, short["id"])
    assert expired["status"] == "expired"
    window = {"since": short["createdAt"]}
    path = f"/v1/webhooks/{hook['id']}/recover"
    assert await api.ok("POST", path, 202, json=window) == {"count": 0}
    asked = await api.ok("POST", path, 202, json={**window, "statuses": ["failed", "expired"]})
    assert asked == {"count": 1}
    detail = await api.ok("GET", f"/v1/events/{short['id']}")
    (again,) = [d for d in detail["deliveries"] if d["id"] != expired["id"]]
    assert (again["status"], again["tags"], again["resentFrom"]) == (
        "pending",
        ["recovered"],
        expired["id"],
    )
