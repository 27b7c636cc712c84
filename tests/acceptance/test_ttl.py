"""Per-event ttl against a running server and a real receiver, on both stores: a delivery
whose next attempt would start after its event expired is not attempted and ends
``expired``, with the attempts it had; it is counted, and recovered only when asked."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.polling import poll
from support.receiver import Receiver
from support.server import Api, Hookline

from hookline.ids import parse_time

pytestmark = pytest.mark.slow


def expired_count(base_url: str) -> float:
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "hookline_deliveries_total" and sample.labels == {
                "outcome": "expired"
            }:
                return sample.value
    return 0.0


def ended(api: Api, dlv_id: str) -> dict[str, object]:
    """The delivery once it is finished, whichever way."""
    return poll(
        lambda: api.delivery(dlv_id),
        lambda d: d["status"] in ("succeeded", "failed", "expired"),
        timeout=15,
        what=f"{dlv_id} finished",
    )


def test_a_retry_that_would_come_after_the_expiry_ends_the_delivery_expired(
    hookline: Hookline, api: Api, ws: str, receiver: Receiver
) -> None:
    counted = expired_count(hookline.base_url)
    endpoint = receiver.endpoint(default=500)
    policy = {"schedule": [0, 0.2, 30, 30], "jitter": 0}
    api.webhook(ws, endpoint.url, retryPolicy=policy)

    event = api.send(ws, "invoice.paid", {"amount": 1}, ttl=2)
    expires = parse_time(event["createdAt"]) + 2_000
    (pending,) = api.deliveries_of(event["id"])
    dlv = ended(api, pending["id"])

    # Two attempts in time; the third would start 30 s later, after the event expired.
    assert dlv["status"] == "expired"
    assert dlv["attemptCount"] == 2
    assert dlv["nextAttemptAt"] is None and dlv["completedAt"] is not None
    attempts = dlv["attempts"]
    assert isinstance(attempts, list)
    assert [a["number"] for a in attempts] == [1, 2]
    assert all(parse_time(a["startedAt"]) <= expires for a in attempts)
    assert [r.status for r in endpoint.requests] == [500, 500]
    assert dlv["lastStatusCode"] == 500
    poll(
        lambda: expired_count(hookline.base_url),
        lambda n: n >= counted + 1,
        what="the expired delivery counted",
    )
    listed = api.get(f"/v1/workspaces/{ws}/deliveries?status=expired")
    assert [d["id"] for d in listed] == [pending["id"]]


def test_a_delivery_that_waits_past_its_expiry_ends_expired_unattempted(
    api: Api, ws: str, receiver: Receiver
) -> None:
    # A FIFO webhook sends its oldest delivery first: the second event waits behind the
    # first, which the endpoint answers only after the second one's ttl ran out.
    endpoint = receiver.endpoint(default=200, delay=1.5)
    wh = api.webhook(ws, endpoint.url, ordering="fifo")
    head = api.send(ws, "invoice.paid", {"n": 1})
    behind = api.send(ws, "invoice.paid", {"n": 2}, ttl=1)
    (first,) = api.deliveries_of(head["id"])
    (second,) = api.deliveries_of(behind["id"])

    assert ended(api, first["id"])["status"] == "succeeded"
    dlv = ended(api, second["id"])
    assert (dlv["status"], dlv["attemptCount"], dlv["attempts"]) == ("expired", 0, [])
    assert endpoint.deliveries() == {head["id"]: 1}

    # Recover leaves it alone unless asked for expired deliveries; asked, it goes out.
    endpoint.hold(0)
    recover = f"/v1/webhooks/{wh['id']}/recover"
    window = {"since": head["createdAt"]}
    assert api.post(recover, window, status=202) == {"count": 0}
    assert api.post(recover, {**window, "statuses": ["expired"]}, status=202) == {"count": 1}
    endpoint.wait(2)
    assert endpoint.deliveries() == {head["id"]: 1, behind["id"]: 1}
