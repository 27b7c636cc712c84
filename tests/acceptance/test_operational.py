"""Operational webhooks: Hookline tells the operator's endpoint what happens to customers'
endpoints, signed and logged like any delivery, routed per workspace, never about itself.
The server also e-mails (a real SMTP server on 127.0.0.1) when it stops a webhook."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.mail import Mailbox
from support.polling import poll
from support.receiver import Endpoint, Receiver
from support.server import Api, Hookline

from hookline.verify import verify_standard

SECRET = "whsec_" + "b3BlcmF0b3Itc2VjcmV0LW9mLXRoZS10ZXN0cw=="
OPERATOR = "ws_operator"


@pytest.fixture(scope="module")
def operator(receiver: Receiver, backend: str) -> Endpoint:
    """The deployment's operator endpoint, one per backend's server; it fails its first
    answer (retried, and not told of)."""
    return receiver.endpoint([503])


@pytest.fixture(scope="module")
def mailbox(backend: str) -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    module_database: str | None,
    operator: Endpoint,
    mailbox: Mailbox,
) -> Iterator[Hookline]:
    env = {
        "HOOKLINE_OPERATOR_WEBHOOK_URL": operator.url,
        "HOOKLINE_OPERATOR_WEBHOOK_SECRET": SECRET,
        "HOOKLINE_SMTP_URL": mailbox.url(),
    }
    data = tmp_path_factory.mktemp("operational")
    with Hookline(data, env=env, database_url=module_database).running() as hookline:
        yield hookline


@pytest.fixture(scope="module")
def api(server: Hookline) -> Iterator[Api]:
    with server.api() as client:
        yield client


def told(endpoint: Endpoint, type: str, webhook_id: str, count: int = 1) -> list[dict[str, Any]]:
    """The operational events of ``type`` about ``webhook_id`` that arrived at ``endpoint``,
    each checked against its signature; waits (with a deadline) for ``count`` of them."""

    def arrived() -> list[dict[str, Any]]:
        found = []
        for request in endpoint.requests:
            body = json.loads(request.body)
            if body["type"] == type and body["data"]["webhookId"] == webhook_id:
                verify_standard(SECRET, request.headers, request.body)
                found.append(body)
        return found

    return poll(arrived, lambda got: len(got) >= count, timeout=20, what=f"{type} of {webhook_id}")


def test_pause_by_failures_then_recovery(api: Api, operator: Endpoint, receiver: Receiver) -> None:
    ws = api.workspace()
    endpoint = receiver.endpoint([500, 500])
    wh = api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0, 0.1], "onExhausted": "pause"})
    event = api.send(ws, "order.paid", {"n": 1})

    [exhausted] = told(operator, "delivery.exhausted", wh["id"])
    assert exhausted["data"] | {"at": None} == {
        "workspaceId": ws,
        "webhookId": wh["id"],
        "url": endpoint.url,
        "name": "",
        "at": None,
        "deliveryId": api.deliveries_of(event["id"])[0]["id"],
        "eventId": event["id"],
        "eventType": "order.paid",
        "attemptCount": 2,
        "lastStatusCode": 500,
        "lastError": None,
    }
    [paused] = told(operator, "endpoint.paused", wh["id"])
    assert paused["data"]["by"] == "system" and paused["data"]["reason"] == "too_many_failures"
    assert api.get(f"/v1/webhooks/{wh['id']}")["status"] == "paused"

    api.send(ws, "order.paid", {"n": 2})  # held while paused; the endpoint answers 200 now
    api.patch(f"/v1/webhooks/{wh['id']}", {"status": "active"})
    [recovered] = told(operator, "endpoint.recovered", wh["id"])
    assert recovered["data"]["workspaceId"] == ws
    api.send(ws, "order.paid", {"n": 3})
    endpoint.wait(4)  # two failures, then the held one and this one
    assert len(told(operator, "endpoint.recovered", wh["id"])) == 1  # once per recovery

    # Each was an ordinary delivery of the operator workspace: logged with its attempts.
    logged = api.get(f"/v1/workspaces/{OPERATOR}/deliveries?eventType=endpoint.recovered")
    assert logged and logged[0]["status"] == "succeeded"


def test_410_gone_disables_the_webhook_with_an_email_and_an_endpoint_disabled(
    api: Api, operator: Endpoint, receiver: Receiver, mailbox: Mailbox
) -> None:
    ws = api.workspace(notificationEmail="ops@gone.test")
    endpoint = receiver.endpoint([410])
    wh = api.webhook(ws, endpoint.url, name="Old CRM")
    event = api.send(ws, "order.paid", {"n": 1})

    [disabled] = told(operator, "endpoint.disabled", wh["id"])
    assert disabled["data"]["by"] == "system" and disabled["data"]["reason"] == "endpoint_gone"
    shown = api.get(f"/v1/webhooks/{wh['id']}")
    assert (shown["status"], shown["statusReason"], shown["statusChangedBy"]) == (
        "disabled",
        "endpoint_gone",
        "system",
    )
    # One attempt, not retried: the schedule's later attempts never run.
    dlv = api.settled(api.deliveries_of(event["id"])[0]["id"])
    assert (dlv["status"], dlv["attemptCount"]) == ("failed", 1)
    assert len(endpoint.requests) == 1
    mails = poll(
        lambda: [m for m in mailbox.messages if wh["id"] in m.get_body().get_content()],
        bool,
        what="the disable e-mail",
    )
    assert mails[0]["To"] == "ops@gone.test"
    assert mails[0]["Subject"] == "Webhook disabled: Old CRM"
    assert "410 Gone" in mails[0].get_body().get_content()
    # Disabled: a new event makes no delivery for it.
    later = api.send(ws, "order.paid", {"n": 2})
    assert api.deliveries_of(later["id"]) == []


def test_disable_and_rotation_are_told_with_who_did_them(
    api: Api, operator: Endpoint, receiver: Receiver
) -> None:
    ws = api.workspace()
    wh = api.webhook(ws, receiver.endpoint().url)
    api.post(f"/v1/webhooks/{wh['id']}/secret/rotate", {"graceSeconds": 60})
    [rotated] = told(operator, "endpoint.secret_rotated", wh["id"])
    assert rotated["data"]["by"] == "admin" and rotated["data"]["graceUntil"]
    api.patch(f"/v1/webhooks/{wh['id']}", {"status": "disabled", "statusReason": "churned"})
    [disabled] = told(operator, "endpoint.disabled", wh["id"])
    assert (disabled["data"]["by"], disabled["data"]["reason"]) == ("admin", "churned")


def test_a_workspace_override_takes_its_events(
    api: Api, operator: Endpoint, receiver: Receiver
) -> None:
    ws, other = api.workspace(), api.workspace()
    own = receiver.endpoint()
    override = api.webhook(OPERATOR, own.url, events=["endpoint.*"], metadata={"workspace": ws})
    mine, theirs = (
        api.webhook(ws, receiver.endpoint().url),
        api.webhook(other, receiver.endpoint().url),
    )
    for wh in (mine, theirs):
        api.patch(f"/v1/webhooks/{wh['id']}", {"status": "paused"})
    secret = api.get(f"/v1/webhooks/{override['id']}/secret")["secret"]
    [request] = own.wait(1)
    verify_standard(secret, request.headers, request.body)
    assert json.loads(request.body)["data"]["webhookId"] == mine["id"]
    told(operator, "endpoint.paused", theirs["id"])
    deployment = [json.loads(r.body)["data"]["webhookId"] for r in operator.requests]
    assert mine["id"] not in deployment


def test_the_operator_endpoint_is_retried_and_never_told_about(
    api: Api, operator: Endpoint
) -> None:
    def refused() -> list[dict[str, Any]]:
        listed = api.get(f"/v1/workspaces/{OPERATOR}/deliveries?limit=250")
        return [d for d in listed if d["lastStatusCode"] == 503 or d["attemptCount"] > 1]

    [first] = poll(refused, lambda found: len(found) == 1, timeout=20, what="the 503")
    detail = poll(lambda: api.get(f"/v1/deliveries/{first['id']}"),
                  lambda d: d["status"] == "succeeded", timeout=20, what="the operator's retry")  # fmt: skip
    assert [a["response"]["status"] for a in detail["attempts"]] == [503, 200]
    hooks = {w["id"] for w in api.get(f"/v1/workspaces/{OPERATOR}/webhooks")}
    about = {d["data"]["webhookId"] for d in (json.loads(r.body) for r in operator.requests)}
    assert not hooks & about
    catalog = {t["name"]: t for t in api.get("/v1/event-types?category=hookline")}
    assert set(catalog) >= {"endpoint.paused", "endpoint.disabled", "endpoint.recovered",
                            "delivery.exhausted", "endpoint.secret_rotated"}  # fmt: skip
    assert catalog["delivery.exhausted"]["schema"]["required"][:2] == ["workspaceId", "webhookId"]


def test_a_refused_operator_url_stops_the_start(tmp_path: Path) -> None:
    hookline = Hookline(tmp_path, env={"HOOKLINE_OPERATOR_WEBHOOK_URL": "ftp://example.com/hooks"})
    with pytest.raises(AssertionError, match="HOOKLINE_OPERATOR_WEBHOOK_URL"):
        hookline.start()


def test_a_failed_test_ping_is_not_an_exhausted_delivery(
    api: Api, operator: Endpoint, receiver: Receiver
) -> None:
    ws = api.workspace()
    wh = api.webhook(ws, receiver.endpoint(default=500).url, retryPolicy={"schedule": [0]})
    ping = api.post(f"/v1/webhooks/{wh['id']}/test")
    api.settled(ping["id"])
    event = api.send(ws, "order.paid", {"n": 1})  # recorded after the ping: told after it
    [exhausted] = told(operator, "delivery.exhausted", wh["id"])
    assert exhausted["data"]["eventId"] == event["id"]
