"""Channels through the API, on SQLite and on PostgreSQL: a webhook with channels gets only
events sharing one of them (on top of its event types and filter), a webhook without
channels gets every event, and an event without channels goes only to webhooks without."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.app import Api, MakeApi, assert_error, create_hook
from support.postgres import BACKENDS, POSTGRES_URL, with_database


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


async def receivers(api: Api, event_id: str) -> set[str]:
    detail = await api.ok("GET", f"/v1/events/{event_id}")
    return {d["webhookId"] for d in detail["deliveries"]}


async def send(api: Api, ws: str, **fields: Any) -> dict[str, Any]:
    body = {"type": "order.paid", "data": {"n": 1}, **fields}
    data: dict[str, Any] = await api.ok("POST", f"/v1/workspaces/{ws}/events", 202, json=body)
    return data


async def test_events_reach_webhooks_by_channel(api: Api, ws: str) -> None:
    everything = await api.webhook(ws)
    only_a = await api.webhook(ws, channels=["a"])
    a_or_b = await api.webhook(ws, channels=["a", "b"])
    only_c = await api.webhook(ws, channels=["c"], events=["order.*"])
    other_type = await api.webhook(ws, channels=["a"], events=["user.*"])
    assert everything["channels"] is None
    assert (only_a["channels"], a_or_b["channels"]) == (["a"], ["a", "b"])

    cases = {
        None: {everything["id"]},
        ("a",): {everything["id"], only_a["id"], a_or_b["id"]},
        ("b", "c"): {everything["id"], a_or_b["id"], only_c["id"]},
        ("zzz",): {everything["id"]},
    }
    for channels, expected in cases.items():
        fields = {} if channels is None else {"channels": list(channels)}
        accepted = await send(api, ws, **fields)
        assert accepted["deliveries"] == len(expected), channels
        assert await receivers(api, accepted["id"]) == expected, channels
    assert other_type["id"] not in await receivers(api, (await send(api, ws, channels=["a"]))["id"])

    # An empty list is no channels, for an event and for a webhook.
    empty = await send(api, ws, channels=[])
    assert await receivers(api, empty["id"]) == {everything["id"]}
    cleared = await api.ok("PATCH", f"/v1/webhooks/{only_c['id']}", json={"channels": []})
    assert cleared["channels"] is None
    assert only_c["id"] in await receivers(api, (await send(api, ws))["id"])


async def test_a_change_of_channels_applies_to_the_next_event(api: Api, ws: str) -> None:
    hook = await api.webhook(ws, channels=["a"])
    assert (await send(api, ws, channels=["b"]))["deliveries"] == 0  # the subscribers are cached
    changed = await api.ok("PATCH", f"/v1/webhooks/{hook['id']}", json={"channels": ["b"]})
    assert changed["channels"] == ["b"]
    assert (await send(api, ws, channels=["b"]))["deliveries"] == 1
    assert (await api.ok("GET", f"/v1/webhooks/{hook['id']}"))["channels"] == ["b"]
    kept = await api.ok("PATCH", f"/v1/webhooks/{hook['id']}", json={"name": "renamed"})
    assert kept["channels"] == ["b"]  # a patch without channels keeps them


async def test_channels_and_the_filter_both_apply(api: Api, ws: str) -> None:
    hook = await api.webhook(ws, channels=["eu"], filter={"path": "$.total", "gte": 100})
    assert (await send(api, ws, channels=["eu"], data={"total": 5}))["deliveries"] == 0
    assert (await send(api, ws, channels=["us"], data={"total": 500}))["deliveries"] == 0
    big_eu = await send(api, ws, channels=["eu"], data={"total": 500})
    assert await receivers(api, big_eu["id"]) == {hook["id"]}


async def test_an_events_channels_are_shown_and_kept_on_a_repeat(api: Api, ws: str) -> None:
    first = await send(api, ws, id="order-1", channels=["project_123", "org:acme.eu-1"])
    repeat = await api.ok(
        "POST",
        f"/v1/workspaces/{ws}/events",
        json={"type": "order.paid", "data": {"n": 1}, "id": "order-1", "channels": ["x"]},
    )
    assert repeat["id"] == first["id"]
    detail = await api.ok("GET", "/v1/events/order-1")
    assert detail["channels"] == ["project_123", "org:acme.eu-1"]
    plain = await send(api, ws)
    listed = await api.ok("GET", f"/v1/workspaces/{ws}/events")
    assert [(e["id"], e["channels"]) for e in listed] == [
        (plain["id"], None),
        ("order-1", ["project_123", "org:acme.eu-1"]),
    ]


async def test_a_batch_fans_out_each_event_by_its_channels(api: Api, ws: str) -> None:
    everything = await api.webhook(ws)
    only_a = await api.webhook(ws, channels=["a"])
    events = [
        {"type": "order.paid", "data": {}, "channels": ["a"]},
        {"type": "order.paid", "data": {}},
        {"type": "order.paid", "data": {}, "channels": ["bad channel"]},
    ]
    results = await api.ok("POST", f"/v1/workspaces/{ws}/events/batch", json={"events": events})
    assert [r["status"] for r in results] == [202, 202, 422]
    assert results[2]["error"]["code"] == "invalid_channels"
    assert await receivers(api, results[0]["data"]["id"]) == {everything["id"], only_a["id"]}
    assert await receivers(api, results[1]["data"]["id"]) == {everything["id"]}


BAD_CHANNELS = [
    pytest.param("a", id="not-a-list"),
    pytest.param([f"c{n}" for n in range(11)], id="eleven"),
    pytest.param(["a b"], id="space"),
    pytest.param(["a/b"], id="slash"),
    pytest.param(["x" * 129], id="too-long"),
    pytest.param([""], id="empty-name"),
    pytest.param([7], id="not-text"),
]


@pytest.mark.parametrize("channels", BAD_CHANNELS)
async def test_invalid_channels_are_422(api: Api, ws: str, channels: Any) -> None:
    """A list of names that break the rules is invalid_channels; what is not a list of text
    at all is refused by the request's schema first (validation_error) for a webhook."""
    hook = await api.webhook(ws)
    created = await create_hook(api, ws, channels=channels)
    patched = await api.patch(f"/v1/webhooks/{hook['id']}", json={"channels": channels})
    for response in (created, patched):
        assert assert_error(response, 422)["code"] in ("invalid_channels", "validation_error")
    event = await api.post(
        f"/v1/workspaces/{ws}/events",
        json={"type": "order.paid", "data": {}, "channels": channels},
    )
    assert assert_error(event, 422, "invalid_channels")["message"]
    assert (await api.ok("GET", f"/v1/webhooks/{hook['id']}"))["channels"] is None


@pytest.mark.parametrize("channels", BAD_CHANNELS[1:-1])
async def test_bad_names_are_invalid_channels_naming_them(
    api: Api, ws: str, channels: list[str]
) -> None:
    error = assert_error(await create_hook(api, ws, channels=channels), 422, "invalid_channels")
    assert "channel" in error["message"]


async def test_the_longest_names_and_the_most_channels_are_taken(api: Api, ws: str) -> None:
    names = ["x" * 128] + [f"c-{n}_.:" for n in range(9)]
    hook = await api.webhook(ws, channels=names)
    assert hook["channels"] == names
    assert (await send(api, ws, channels=names))["deliveries"] == 1
