"""Retries on a schedule, exhaustion, and pausing a failing webhook (CONTRACT §6)."""

from __future__ import annotations

import itertools

import pytest
from standardwebhooks.webhooks import Webhook
from support.polling import poll
from support.receiver import Receiver
from support.server import Api

pytestmark = pytest.mark.slow


def test_two_failures_then_success_make_three_logged_attempts(
    api: Api, ws: str, receiver: Receiver
) -> None:
    endpoint = receiver.endpoint([500, 500], default=200)
    wh = api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0, 0.2, 0.2]})
    secret = api.get(f"/v1/webhooks/{wh['id']}/secret")["secret"]

    event = api.send(ws, "invoice.paid", {"amount": 42})
    (pending,) = api.deliveries_of(event["id"])
    dlv = api.settled(pending["id"])

    assert dlv["status"] == "succeeded"
    assert dlv["attemptCount"] == 3
    assert dlv["lastStatusCode"] == 200
    assert dlv["completedAt"] is not None
    assert [a["number"] for a in dlv["attempts"]] == [1, 2, 3]
    assert [a["outcome"] for a in dlv["attempts"]] == ["failure", "failure", "success"]
    assert [a["response"]["status"] for a in dlv["attempts"]] == [500, 500, 200]
    assert all(a["error"] is None for a in dlv["attempts"])

    got = endpoint.wait(3)
    assert len(got) == 3
    assert {r.headers["X-Hookline-Delivery"] for r in got} == {event["id"]}
    assert [r.headers["X-Hookline-Attempt"] for r in got] == ["1", "2", "3"]
    for r in got:
        Webhook(secret).verify(r.body, dict(r.headers))
    # The schedule spaces the attempts (0.2 s ± 20 % jitter).
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(got)]
    assert all(gap >= 0.15 for gap in gaps), gaps
    # Every attempt re-renders with its own attempt number; the body is the same.
    assert len({r.body for r in got}) == 1


def test_exhausted_delivery_fails_and_leaves_the_webhook_active(
    api: Api, ws: str, receiver: Receiver
) -> None:
    endpoint = receiver.endpoint(default=500)
    wh = api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0, 0.1]})

    event = api.send(ws, "invoice.paid", {"amount": 1})
    dlv = api.settled(api.deliveries_of(event["id"])[0]["id"])

    assert dlv["status"] == "failed"
    assert dlv["attemptCount"] == 2
    assert [a["number"] for a in dlv["attempts"]] == [1, 2]
    assert dlv["lastStatusCode"] == 500
    assert dlv["nextAttemptAt"] is None
    assert len(endpoint.wait(2)) == 2
    assert api.get(f"/v1/webhooks/{wh['id']}")["status"] == "active"


def test_exhaustion_with_on_exhausted_pause_pauses_the_webhook(
    api: Api, ws: str, receiver: Receiver
) -> None:
    endpoint = receiver.endpoint(default=500)
    wh = api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0, 0.1], "onExhausted": "pause"})

    event = api.send(ws, "invoice.paid", {"amount": 1})
    dlv = api.settled(api.deliveries_of(event["id"])[0]["id"])

    assert dlv["status"] == "failed"
    assert dlv["attemptCount"] == 2
    paused = poll(
        lambda: api.get(f"/v1/webhooks/{wh['id']}"),
        lambda w: w["status"] == "paused",
        what="webhook paused",
    )
    assert paused["statusReason"] == "too_many_failures"
    assert paused["statusChangedBy"] == "system"
    assert paused["statusChangedAt"] is not None

    # While paused, new events wait as held deliveries.
    later = api.send(ws, "invoice.paid", {"amount": 2})
    (held,) = api.deliveries_of(later["id"])
    assert held["status"] == "held"
    assert len(endpoint.requests) == 2


def test_non_retryable_status_fails_at_once(api: Api, ws: str, receiver: Receiver) -> None:
    endpoint = receiver.endpoint(default=410)
    policy = {"schedule": [0, 0.1, 0.1], "retryOn": [500, 503]}
    api.webhook(ws, endpoint.url, retryPolicy=policy)

    event = api.send(ws, "invoice.paid", {"amount": 1})
    dlv = api.settled(api.deliveries_of(event["id"])[0]["id"])

    assert dlv["status"] == "failed"
    assert dlv["attemptCount"] == 1
    assert dlv["lastStatusCode"] == 410


def test_retry_after_on_503_is_waited_for_even_far_beyond_the_schedule(
    api: Api, ws: str, receiver: Receiver
) -> None:
    endpoint = receiver.endpoint([(503, {"Retry-After": "2"})], default=200)
    policy = {"schedule": [0, 0.1], "jitter": 0}
    api.webhook(ws, endpoint.url, retryPolicy=policy)

    event = api.send(ws, "invoice.paid", {"amount": 1})
    dlv = api.settled(api.deliveries_of(event["id"])[0]["id"])

    assert dlv["status"] == "succeeded"
    assert dlv["attemptCount"] == 2  # the wait counted one attempt, as any retry
    first, second = endpoint.wait(2)
    # Retry-After 2 s against a 0.1 s step: the endpoint's word, not twenty times sooner.
    assert 1.95 <= second.at - first.at < 5, second.at - first.at


def test_a_receiver_slower_than_the_timeout_is_a_timeout(
    api: Api, ws: str, receiver: Receiver
) -> None:
    endpoint = receiver.endpoint(delay=1.5)
    api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0], "timeout": 0.3})

    event = api.send(ws, "invoice.paid", {"amount": 1})
    dlv = api.settled(api.deliveries_of(event["id"])[0]["id"])

    assert dlv["status"] == "failed"
    assert dlv["lastError"] == "timeout"
    (attempt,) = dlv["attempts"]
    assert attempt["error"] == "timeout"
    assert attempt["response"] is None
    assert attempt["durationMs"] < 1400
