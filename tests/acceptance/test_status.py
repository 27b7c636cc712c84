"""Paused webhooks hold deliveries; resend makes a new delivery of the same event (CONTRACT §3)."""

from __future__ import annotations

import json

import pytest
from support.polling import poll
from support.receiver import Receiver
from support.server import Api

pytestmark = pytest.mark.slow


def test_paused_webhook_holds_deliveries_and_sends_them_all_on_resume(
    api: Api, ws: str, receiver: Receiver
) -> None:
    held_ep, live_ep = receiver.endpoint(), receiver.endpoint()
    held_wh = api.webhook(ws, held_ep.url)
    api.webhook(ws, live_ep.url)
    paused = api.patch(f"/v1/webhooks/{held_wh['id']}", {"status": "paused"})
    assert paused["status"] == "paused"
    assert paused["statusChangedBy"] == "admin"  # the admin key's principal

    events = [api.send(ws, "ticket.updated", {"seq": n}) for n in range(3)]

    # The active webhook got all three: the dispatcher ran, and held the paused one's back.
    live_ep.wait(3)
    assert held_ep.requests == []
    for event in events:
        (dlv,) = [d for d in api.deliveries_of(event["id"]) if d["webhookId"] == held_wh["id"]]
        assert dlv["status"] == "held"
        assert dlv["attemptCount"] == 0
    assert len(api.get(f"/v1/webhooks/{held_wh['id']}/deliveries?status=held")) == 3

    resumed = api.patch(f"/v1/webhooks/{held_wh['id']}", {"status": "active"})
    assert resumed["status"] == "active"

    # All three go out now. They are claimed oldest first, but requests in flight at once may
    # reach the receiver in either order (a webhook that needs its order kept is a FIFO one).
    got = held_ep.wait(3)
    assert sorted(json.loads(r.body)["data"]["seq"] for r in got) == [0, 1, 2]
    poll(
        lambda: api.get(f"/v1/webhooks/{held_wh['id']}/deliveries?status=succeeded"),
        lambda page: len(page) == 3,
        what="three held deliveries succeeded",
    )


def test_resend_makes_a_new_tagged_delivery_of_the_same_event(
    api: Api, ws: str, receiver: Receiver
) -> None:
    endpoint = receiver.endpoint()
    api.webhook(ws, endpoint.url)
    event = api.send(ws, "order.shipped", {"order": 7})
    (original,) = api.deliveries_of(event["id"])
    assert api.settled(original["id"])["status"] == "succeeded"

    resent = api.post(f"/v1/deliveries/{original['id']}/resend", status=202)

    assert resent["id"] != original["id"]
    assert resent["resentFrom"] == original["id"]
    assert resent["tags"] == ["resent"]
    assert resent["eventId"] == event["id"]
    first, second = endpoint.wait(2)
    assert first.headers["X-Hookline-Delivery"] == second.headers["X-Hookline-Delivery"]
    assert second.headers["webhook-id"] == event["id"]
    assert second.headers["X-Hookline-Attempt"] == "1"
    assert json.loads(second.body) == json.loads(first.body)
    done = api.settled(resent["id"])
    assert done["status"] == "succeeded"
    assert len(done["attempts"]) == 1
    assert {d["id"] for d in api.deliveries_of(event["id"])} == {original["id"], resent["id"]}


def test_resend_to_a_disabled_webhook_is_a_conflict(api: Api, ws: str, receiver: Receiver) -> None:
    endpoint = receiver.endpoint()
    wh = api.webhook(ws, endpoint.url)
    event = api.send(ws, "order.shipped", {"order": 8})
    (original,) = api.deliveries_of(event["id"])
    api.settled(original["id"])
    api.patch(f"/v1/webhooks/{wh['id']}", {"status": "disabled"})

    error = api.post(f"/v1/deliveries/{original['id']}/resend", status=409)

    assert error["code"] == "webhook_disabled"
    assert len(api.deliveries_of(event["id"])) == 1


def test_resend_of_a_delivery_still_in_progress_is_a_conflict(
    api: Api, ws: str, receiver: Receiver
) -> None:
    endpoint = receiver.endpoint(default=500)
    api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0, 30]})
    event = api.send(ws, "order.shipped", {"order": 9})
    (dlv,) = api.deliveries_of(event["id"])
    endpoint.wait(1)
    poll(lambda: api.delivery(dlv["id"]), lambda d: d["attemptCount"] == 1, what="first attempt")

    error = api.post(f"/v1/deliveries/{dlv['id']}/resend", status=409)

    assert error["code"] == "delivery_in_progress"


def test_recover_resends_failed_deliveries_of_a_window(
    api: Api, ws: str, receiver: Receiver
) -> None:
    endpoint = receiver.endpoint([500, 500], default=200)
    wh = api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0]})
    events = [api.send(ws, "sync.failed", {"n": n}) for n in range(2)]
    failed = [api.settled(api.deliveries_of(e["id"])[0]["id"]) for e in events]
    assert [d["status"] for d in failed] == ["failed", "failed"]

    since = failed[0]["createdAt"]
    result = api.post(f"/v1/webhooks/{wh['id']}/recover", {"since": since}, status=202)

    assert result == {"count": 2}
    got = endpoint.wait(4)
    assert sorted(r.headers["X-Hookline-Delivery"] for r in got[2:]) == sorted(
        e["id"] for e in events
    )
    recovered = poll(
        lambda: [d for e in events for d in api.deliveries_of(e["id"]) if d["resentFrom"]],
        lambda ds: len(ds) == 2 and all(d["status"] == "succeeded" for d in ds),
        what="recovered deliveries succeeded",
    )
    assert all(d["tags"] == ["recovered"] for d in recovered)
    assert {d["resentFrom"] for d in recovered} == {d["id"] for d in failed}
