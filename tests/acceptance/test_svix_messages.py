"""Messages and message attempts through Svix's Python SDK, sync and async, on each store:
each delivery checked at a real receiver with the SDK's own ``Webhook(secret).verify``."""

from __future__ import annotations

import json
import uuid

import pytest
from support.polling import poll
from support.receiver import Receiver
from support.server import ADMIN_KEY, Hookline
from svix.api import (
    ApplicationIn,
    EndpointIn,
    EndpointPatch,
    MessageAttemptListByEndpointOptions,
    MessageCreateOptions,
    MessageGetOptions,
    MessageIn,
    MessageListOptions,
    Svix,
    SvixAsync,
    SvixOptions,
)
from svix.exceptions import HttpError, HTTPValidationError
from svix.models import MessageAttemptTriggerType, MessageStatus, MessageStatusText
from svix.webhooks import Webhook as SvixWebhook


@pytest.fixture(scope="module")
def svix(hookline: Hookline) -> Svix:
    return Svix(ADMIN_KEY, SvixOptions(server_url=hookline.base_url, retry_schedule=[]))


def test_messages_and_attempts_with_the_sync_sdk(svix: Svix, receiver: Receiver) -> None:
    app = svix.application.create(ApplicationIn(name="Messages"))
    paid_hook, all_hook = receiver.endpoint(), receiver.endpoint()
    paid = svix.endpoint.create(app.id, EndpointIn(url=paid_hook.url, event_types=["invoice.paid"]))
    every = svix.endpoint.create(app.id, EndpointIn(url=all_hook.url))

    paid_message = MessageIn(event_type="invoice.paid", payload={"amount": 42}, event_id="inv-1")
    msg = svix.message.create(app.id, paid_message, MessageCreateOptions(with_content=True))
    assert (msg.id, msg.event_id, msg.event_type, msg.payload) == (
        "inv-1",
        "inv-1",
        "invoice.paid",
        {"amount": 42},
    )
    for hook, ep in ((paid_hook, paid), (all_hook, every)):
        (arrived,) = hook.wait(1)
        secret = svix.endpoint.get_secret(app.id, ep.id).key
        SvixWebhook(secret).verify(arrived.body, dict(arrived.headers))
        assert json.loads(arrived.body) == {"amount": 42}

    other = svix.message.create(app.id, MessageIn(event_type="user.signup", payload={}))
    assert other.id.startswith("evt_") and other.event_id is None
    assert len(all_hook.wait(2)) == 2
    repeat = MessageIn(event_type="invoice.paid", payload={"amount": 1}, event_id="inv-1")
    again = svix.message.create(app.id, repeat, MessageCreateOptions(with_content=True))
    assert (again.id, again.payload) == ("inv-1", {"amount": 42})

    content = MessageGetOptions(with_content=True)
    assert svix.message.get(app.id, "inv-1", content).payload == {"amount": 42}
    assert svix.message.get(app.id, "inv-1").payload == {}
    listed = svix.message.list(app.id, MessageListOptions(limit=1))
    assert [m.id for m in listed.data] == [other.id] and not listed.done
    rest = svix.message.list(app.id, MessageListOptions(limit=1, iterator=listed.iterator))
    assert [m.id for m in rest.data] == ["inv-1"]

    attempts = poll(
        lambda: svix.message_attempt.list_by_endpoint(app.id, paid.id).data,
        lambda found: len(found) == 1,
        what="the attempt to the invoice endpoint",
    )
    (attempt,) = attempts
    assert (attempt.msg_id, attempt.endpoint_id, attempt.response_status_code) == (
        "inv-1",
        paid.id,
        200,
    )
    assert attempt.status == MessageStatus.SUCCESS
    assert attempt.status_text == MessageStatusText.SUCCESS
    assert attempt.trigger_type == MessageAttemptTriggerType.SCHEDULED
    assert svix.message_attempt.get(app.id, "inv-1", attempt.id).id == attempt.id
    by_msg = svix.message_attempt.list_by_msg(app.id, "inv-1").data
    assert {a.endpoint_id for a in by_msg} == {paid.id, every.id}

    destinations = svix.message_attempt.list_attempted_destinations(app.id, "inv-1").data
    assert {d.id for d in destinations} == {paid.id, every.id}
    assert all(d.status == MessageStatus.SUCCESS for d in destinations)
    sent = svix.message_attempt.list_attempted_messages(app.id, every.id).data
    assert [m.id for m in sent] == [other.id, "inv-1"]

    svix.message_attempt.resend(app.id, "inv-1", paid.id)
    resent = paid_hook.wait(2)[1]
    assert resent.header("svix-id") == "inv-1"
    manual = poll(
        lambda: (
            svix.message_attempt.list_by_endpoint(
                app.id, paid.id, MessageAttemptListByEndpointOptions(limit=1)
            ).data
        ),
        lambda found: found and found[0].trigger_type == MessageAttemptTriggerType.MANUAL,
        what="the resent attempt",
    )
    assert manual[0].status == MessageStatus.SUCCESS


def test_a_failed_attempt_has_svix_fail_status(svix: Svix, receiver: Receiver) -> None:
    app = svix.application.create(ApplicationIn(name="Failing"))
    hook = receiver.endpoint(default=503)
    ep = svix.endpoint.create(app.id, EndpointIn(url=hook.url))
    svix.message.create(app.id, MessageIn(event_type="a.b", payload={}))
    (attempt, *_) = poll(
        lambda: svix.message_attempt.list_by_endpoint(app.id, ep.id).data,
        lambda found: len(found) >= 1,
        what="a failed attempt",
    )
    assert (attempt.status, attempt.status_text) == (MessageStatus.FAIL, MessageStatusText.FAIL)
    assert attempt.response_status_code == 503


def test_a_message_creates_its_application_when_asked(svix: Svix) -> None:
    uid = f"inline-{uuid.uuid4().hex[:10]}"
    with pytest.raises(HttpError) as missing:
        svix.message.create(uid, MessageIn(event_type="a.b", payload={}))
    assert missing.value.status_code == 404
    msg = svix.message.create(
        uid,
        MessageIn(event_type="a.b", payload={"x": 1}, application=ApplicationIn(name="Inline")),
    )
    assert svix.application.get(uid).name == "Inline"
    assert svix.message.get(uid, msg.id, MessageGetOptions(with_content=True)).payload == {"x": 1}


def test_channels_choose_the_endpoints(svix: Svix, receiver: Receiver) -> None:
    app = svix.application.create(ApplicationIn(name="Channels"))
    eu_hook, us_hook, all_hook = receiver.endpoint(), receiver.endpoint(), receiver.endpoint()
    eu = svix.endpoint.create(app.id, EndpointIn(url=eu_hook.url, channels=["eu"]))
    svix.endpoint.create(app.id, EndpointIn(url=us_hook.url, channels=["us"]))
    svix.endpoint.create(app.id, EndpointIn(url=all_hook.url))
    assert eu.channels == ["eu"]
    msg = svix.message.create(
        app.id,
        MessageIn(event_type="a.b", payload={"n": 1}, channels=["eu"]),
        MessageCreateOptions(with_content=True),
    )
    assert msg.channels == ["eu"]
    svix.message.create(app.id, MessageIn(event_type="a.b", payload={"n": 2}))
    (arrived,) = eu_hook.wait(1)
    assert json.loads(arrived.body) == {"n": 1}
    assert sorted(json.loads(r.body)["n"] for r in all_hook.wait(2)) == [1, 2]
    sent = {m.id for m in svix.message_attempt.list_attempted_messages(app.id, eu.id).data}
    assert sent == {msg.id}
    assert us_hook.requests == []
    moved = svix.endpoint.patch(app.id, eu.id, EndpointPatch(channels=["us"]))
    assert moved.channels == ["us"]


def test_what_hookline_does_not_offer_is_refused(svix: Svix) -> None:
    app = svix.application.create(ApplicationIn(name="Refusals"))
    with pytest.raises(HTTPValidationError) as refused:
        svix.message.create(
            app.id, MessageIn(event_type="a.b", payload={}, payload_retention_period=5)
        )
    assert refused.value.detail[0].loc == ["body", "payloadRetentionPeriod"]
    with pytest.raises(HTTPValidationError) as by_channel:
        svix.message.list(app.id, MessageListOptions(channel="eu"))
    assert by_channel.value.detail[0].loc == ["query", "channel"]
    assert svix.message.list(app.id).data == []
    ep = svix.endpoint.create(app.id, EndpointIn(url="https://example.com/hook"))
    with pytest.raises(HTTPValidationError) as by_tag:
        svix.message_attempt.list_by_endpoint(
            app.id, ep.id, MessageAttemptListByEndpointOptions(tag="vip")
        )
    assert by_tag.value.detail[0].loc == ["query", "tag"]


async def test_messages_with_the_async_sdk(hookline: Hookline, receiver: Receiver) -> None:
    client = SvixAsync(ADMIN_KEY, SvixOptions(server_url=hookline.base_url, retry_schedule=[]))
    app = await client.application.create(ApplicationIn(name="Async messages"))
    hook = receiver.endpoint()
    ep = await client.endpoint.create(app.id, EndpointIn(url=hook.url))
    msg = await client.message.create(app.id, MessageIn(event_type="a.b", payload={"k": "v"}))
    (arrived,) = await hook.arrived(1)
    secret = (await client.endpoint.get_secret(app.id, ep.id)).key
    SvixWebhook(secret).verify(arrived.body, dict(arrived.headers))
    content = MessageGetOptions(with_content=True)
    assert (await client.message.get(app.id, msg.id, content)).payload == {"k": "v"}
    by_msg = await client.message_attempt.list_by_msg(app.id, msg.id)
    assert [a.endpoint_id for a in by_msg.data] in ([], [ep.id])
