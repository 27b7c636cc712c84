"""What a receiver gets (CONTRACT §4, §5): signed envelopes with Hookline's headers."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook
from support.receiver import Received, Receiver
from support.server import Api

pytestmark = pytest.mark.slow

RFC3339_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def secret_of(api: Api, wh_id: str) -> str:
    secret: str = api.get(f"/v1/webhooks/{wh_id}/secret")["secret"]
    return secret


def verified(secret: str, got: Received) -> Any:
    """The envelope, after the Standard Webhooks reference library accepted its signature."""
    return Webhook(secret).verify(got.body, dict(got.headers))


def test_delivery_is_signed_with_hookline_headers_and_the_standard_envelope(
    api: Api, ws: str, receiver: Receiver
) -> None:
    endpoint = receiver.endpoint()
    wh = api.webhook(
        ws,
        endpoint.url,
        events=["order.*"],
        headers={"Authorization": "Bearer abc", "X-Tenant": "t-42"},
    )
    data = {"total": 12.5, "items": [1, 2], "note": "café ✓", "nested": {"a": None}}
    event = api.send(ws, "order.created", data)
    assert event["deliveries"] == 1

    (got,) = endpoint.wait(1)
    envelope = verified(secret_of(api, wh["id"]), got)

    assert got.method == "POST"
    assert got.path == endpoint.path
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == "Hookline-Webhook/1.0"
    assert got.headers["X-Hookline-Event"] == "order.created"
    assert got.headers["X-Hookline-Delivery"] == event["id"]
    assert got.headers["X-Hookline-Attempt"] == "1"
    assert got.headers["webhook-id"] == event["id"]
    stamp = int(got.headers["X-Hookline-Timestamp"])
    assert stamp == int(got.headers["webhook-timestamp"])
    assert abs(stamp - time.time()) < 30
    assert got.headers["Authorization"] == "Bearer abc"
    assert got.headers["X-Tenant"] == "t-42"

    assert envelope == {
        "id": event["id"],
        "type": "order.created",
        "timestamp": event["createdAt"],
        "data": data,
    }
    assert RFC3339_MS.fullmatch(envelope["timestamp"])
    # Compact, as JSON.stringify writes it: the signed bytes are exactly these.
    assert got.body == json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()

    dlv = api.settled(api.deliveries_of(event["id"])[0]["id"])
    assert dlv["status"] == "succeeded"
    assert dlv["attemptCount"] == 1
    assert dlv["lastStatusCode"] == 200
    (attempt,) = dlv["attempts"]
    assert attempt["number"] == 1
    assert attempt["outcome"] == "success"
    assert attempt["error"] is None
    assert attempt["response"]["status"] == 200
    assert attempt["request"]["url"] == endpoint.url
    assert attempt["request"]["body"] == got.body.decode()
    assert secret_of(api, wh["id"]) not in json.dumps(attempt)


def test_only_subscribed_webhooks_get_the_event(api: Api, ws: str, receiver: Receiver) -> None:
    wanted, other = receiver.endpoint(), receiver.endpoint()
    wanted_wh = api.webhook(ws, wanted.url, events=["content/*"])
    api.webhook(ws, other.url, events=["message.created"])

    event = api.send(ws, "content/user_completed", {"user": "u1"})

    assert event["deliveries"] == 1
    (got,) = wanted.wait(1)
    assert got.headers["X-Hookline-Event"] == "content/user_completed"
    assert [d["webhookId"] for d in api.deliveries_of(event["id"])] == [wanted_wh["id"]]
    assert other.requests == []


def test_disabled_webhook_gets_no_delivery(api: Api, ws: str, receiver: Receiver) -> None:
    live, off = receiver.endpoint(), receiver.endpoint()
    live_wh = api.webhook(ws, live.url)
    off_wh = api.webhook(ws, off.url)
    api.patch(f"/v1/webhooks/{off_wh['id']}", {"status": "disabled"})

    event = api.send(ws, "user.created", {"id": 1})

    assert event["deliveries"] == 1
    assert [d["webhookId"] for d in api.deliveries_of(event["id"])] == [live_wh["id"]]
    live.wait(1)  # the live one got it, so the disabled one had every chance to
    assert off.requests == []
    assert api.get(f"/v1/webhooks/{off_wh['id']}/deliveries") == []


def test_disabled_only_webhook_means_zero_deliveries(api: Api, ws: str, receiver: Receiver) -> None:
    off = receiver.endpoint()
    api.webhook(ws, off.url, status="disabled")

    event = api.send(ws, "user.created", {"id": 2})

    assert event["deliveries"] == 0
    assert api.deliveries_of(event["id"]) == []


def test_same_event_id_twice_is_accepted_once(api: Api, ws: str, receiver: Receiver) -> None:
    endpoint = receiver.endpoint()
    api.webhook(ws, endpoint.url)
    body = {"type": "order.paid", "data": {"n": 1}, "id": "order-1001:paid"}

    first = api.post(f"/v1/workspaces/{ws}/events", body, status=202)
    again = api.post(f"/v1/workspaces/{ws}/events", {**body, "data": {"n": 2}}, status=200)

    assert first["id"] == again["id"] == "order-1001:paid"
    assert again["createdAt"] == first["createdAt"]
    assert again["deliveries"] == first["deliveries"] == 1
    (got,) = endpoint.wait(1)
    assert json.loads(got.body)["data"] == {"n": 1}
    assert len(api.deliveries_of("order-1001:paid")) == 1


def test_idempotency_key_header_works_like_the_id(api: Api, ws: str, receiver: Receiver) -> None:
    endpoint = receiver.endpoint()
    api.webhook(ws, endpoint.url)
    body = {"type": "order.paid", "data": {"n": 1}}
    key = {"Idempotency-Key": "req-7f3a"}

    first = api.post(f"/v1/workspaces/{ws}/events", body, status=202, headers=key)
    again = api.post(f"/v1/workspaces/{ws}/events", body, status=200, headers=key)

    assert first["id"] == again["id"] == "req-7f3a"
    (got,) = endpoint.wait(1)
    assert got.headers["X-Hookline-Delivery"] == "req-7f3a"
    assert len(api.deliveries_of("req-7f3a")) == 1


def test_test_ping_returns_the_delivery_with_its_first_attempt(
    api: Api, ws: str, receiver: Receiver
) -> None:
    endpoint = receiver.endpoint()
    wh = api.webhook(ws, endpoint.url, events=["order.created"])

    dlv = api.post(f"/v1/webhooks/{wh['id']}/test")

    assert dlv["webhookId"] == wh["id"]
    assert dlv["tags"] == ["test"]
    assert dlv["eventType"] == "test"
    assert dlv["status"] == "succeeded"
    (attempt,) = dlv["attempts"]
    assert attempt["number"] == 1
    assert attempt["outcome"] == "success"
    assert attempt["response"]["status"] == 200
    (got,) = endpoint.wait(1)
    envelope = verified(secret_of(api, wh["id"]), got)
    assert envelope["test"] is True
    assert envelope["type"] == "test"
    assert envelope["data"] == {}
    assert envelope["id"] == dlv["eventId"] == got.headers["X-Hookline-Delivery"]


def test_failed_test_ping_is_reported_not_retried(api: Api, ws: str, receiver: Receiver) -> None:
    endpoint = receiver.endpoint(default=503)
    wh = api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0, 0.1, 0.1]})

    dlv = api.post(f"/v1/webhooks/{wh['id']}/test")

    assert dlv["status"] == "failed"
    (attempt,) = dlv["attempts"]
    assert attempt["outcome"] == "failure"
    assert attempt["response"]["status"] == 503
    assert len(endpoint.requests) == 1


def test_workspace_delivery_settings_change_brand_and_envelope(
    api: Api, receiver: Receiver
) -> None:
    ws = api.workspace(settings={"delivery": {"brand": "Acme", "envelope": "typed"}})
    endpoint = receiver.endpoint()
    wh = api.webhook(ws, endpoint.url)

    event = api.send(ws, "course.completed", {"course": "c1"})

    (got,) = endpoint.wait(1)
    envelope = verified(secret_of(api, wh["id"]), got)
    assert envelope == {
        "id": event["id"],
        "type": "course.completed",
        "workspaceId": ws,
        "createdAt": event["createdAt"],
        "data": {"course": "c1"},
    }
    assert got.headers["X-Acme-Event"] == "course.completed"
    assert got.headers["X-Acme-Delivery"] == event["id"]
    assert got.headers["X-Acme-Attempt"] == "1"
    assert "X-Hookline-Event" not in got.headers
