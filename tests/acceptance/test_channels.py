"""Channels with real deliveries: each receiver gets exactly the events meant for it — a
webhook without channels every event, a webhook with channels only the events sharing one
with it (an event without channels none of them), also after its channels change."""

from __future__ import annotations

import pytest
from support.receiver import Endpoint, Receiver
from support.server import Api, Hookline

from hookline.client import Client

pytestmark = pytest.mark.slow


def received(endpoint: Endpoint) -> set[str]:
    return {r.delivery for r in endpoint.requests}


def send_all(api: Api, ws: str, events: dict[str, list[str] | None]) -> dict[str, str]:
    """Send one event per name with its channels (None: none); wait until every delivery of
    every one has succeeded, so nothing more is on its way. The event ids by name."""
    ids = {}
    for name, channels in events.items():
        extra = {} if channels is None else {"channels": channels}
        ids[name] = api.send(ws, "order.paid", {"name": name}, **extra)["id"]
    for event_id in ids.values():
        for dlv in api.deliveries_of(event_id):
            assert api.settled(dlv["id"])["status"] == "succeeded"
    return ids


def test_each_receiver_gets_the_events_of_its_channels(
    api: Api, ws: str, receiver: Receiver
) -> None:
    every, only_a, a_or_b = receiver.endpoint(), receiver.endpoint(), receiver.endpoint()
    api.webhook(ws, every.url)
    api.webhook(ws, only_a.url, channels=["a"])
    hook_ab = api.webhook(ws, a_or_b.url, channels=["a", "b"])

    ids = send_all(
        api,
        ws,
        {"plain": None, "to_a": ["a"], "to_b": ["b", "zzz"], "to_c": ["c"], "to_ab": ["a", "b"]},
    )
    assert received(every) == set(ids.values())
    assert received(only_a) == {ids["to_a"], ids["to_ab"]}
    assert received(a_or_b) == {ids["to_a"], ids["to_b"], ids["to_ab"]}

    api.patch(f"/v1/webhooks/{hook_ab['id']}", {"channels": ["c"]})
    later = send_all(api, ws, {"later_b": ["b"], "later_c": ["c"], "later_plain": None})
    assert received(a_or_b) - set(ids.values()) == {later["later_c"]}
    assert received(only_a) == {ids["to_a"], ids["to_ab"]}
    assert received(every) == set(ids.values()) | set(later.values())


def test_a_batch_delivers_by_each_events_channels(api: Api, ws: str, receiver: Receiver) -> None:
    every, only_x = receiver.endpoint(), receiver.endpoint()
    api.webhook(ws, every.url)
    api.webhook(ws, only_x.url, channels=["x"])
    results = api.post(
        f"/v1/workspaces/{ws}/events/batch",
        {
            "events": [
                {"type": "order.paid", "data": {"n": 1}, "channels": ["x"]},
                {"type": "order.paid", "data": {"n": 2}},
            ]
        },
    )
    with_x, plain = (r["data"]["id"] for r in results)
    for event_id in (with_x, plain):
        for dlv in api.deliveries_of(event_id):
            assert api.settled(dlv["id"])["status"] == "succeeded"
    assert received(every) == {with_x, plain}
    assert received(only_x) == {with_x}


def test_the_typed_client_sends_and_subscribes_by_channel(
    hookline: Hookline, ws: str, receiver: Receiver
) -> None:
    every, only_x = receiver.endpoint(), receiver.endpoint()
    with Client(hookline.base_url, hookline.admin_key) as client:
        client.create_webhook(ws, every.url)
        hook = client.create_webhook(ws, only_x.url, channels=["x"])
        assert hook.channels == ["x"]
        with_x = client.send(ws, "order.paid", {"n": 1}, channels=["x"])
        plain = client.send(ws, "order.paid", {"n": 2})
        (batched,) = client.send_batch(ws, [{"type": "order.paid", "data": {}, "channels": ["x"]}])
        assert batched.data is not None
        assert client.get_event(with_x.id).channels == ["x"]
        assert client.get_event(plain.id).channels is None
    api_ids = [with_x.id, plain.id, batched.data.id]
    assert (with_x.deliveries, plain.deliveries, batched.data.deliveries) == (2, 1, 2)
    every.wait(3)
    only_x.wait(2)
    assert {r.delivery for r in only_x.requests} == {with_x.id, batched.data.id}
    assert {r.delivery for r in every.requests} == set(api_ids)
