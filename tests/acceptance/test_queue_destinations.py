"""Destinations other than HTTP against the real servers on this machine: RabbitMQ
(127.0.0.1:5672), NATS JetStream (127.0.0.1:4222), Redis Streams (127.0.0.1:6379), and
SQS, SNS and EventBridge on a local moto server this module starts. A real ``hookline serve``
(dev mode) publishes; each test reads what arrived with the broker's own client and checks
the envelope and its Standard Webhooks signature, carried as message headers/attributes.
Each publish is an attempt: a refused one is retried by the policy, and a resend publishes
again. So is a publish the destination answers with something its client cannot read: a
local HTTP endpoint standing in for AWS, a NATS responder and a TCP server standing in for
Redis answer nonsense, and the attempt is recorded as ``unexpected_response``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import aio_pika
import botocore.session
import nats
import pytest
import redis
from support.brokers import NATS as NATS_SERVER
from support.brokers import RABBITMQ, require
from support.brokers import REDIS as REDIS_SERVER
from support.net import free_port, listening
from support.polling import poll
from support.receiver import Receiver, Reply
from support.server import Api

from hookline.verify import verify_standard

pytestmark = pytest.mark.slow

AMQP = "amqp://127.0.0.1:5672/"
NATS = "nats://127.0.0.1:4222"
REDIS = "redis://127.0.0.1:6379/0"
REGION = "eu-west-1"


def secret_of(api: Api, wh: dict[str, Any]) -> str:
    return str(api.get(f"/v1/webhooks/{wh['id']}/secret")["secret"])


def verified(
    api: Api, wh: dict[str, Any], headers: Mapping[str, Any], body: bytes
) -> dict[str, Any]:
    """The envelope, once its signature checks out with the webhook's secret."""
    verify_standard(secret_of(api, wh), {k: str(v) for k, v in headers.items()}, body)
    envelope: dict[str, Any] = json.loads(body)
    return envelope


def delivery_of(api: Api, event: dict[str, Any]) -> dict[str, Any]:
    (dlv,) = api.deliveries_of(event["id"])
    return api.settled(dlv["id"])


# -- RabbitMQ ---------------------------------------------------------------------------------


def rabbit(coroutine: Any) -> Any:
    async def run() -> Any:
        connection = await aio_pika.connect(AMQP)
        async with connection:
            return await coroutine(await connection.channel())

    return asyncio.run(run())


def test_rabbitmq_publishes_with_confirms_and_headers(api: Api) -> None:
    require(RABBITMQ)
    exchange, queue = f"hooks-{uuid.uuid4().hex[:8]}", f"q-{uuid.uuid4().hex[:8]}"

    async def declare(channel: aio_pika.abc.AbstractChannel) -> None:
        ex = await channel.declare_exchange(
            exchange, aio_pika.ExchangeType.DIRECT, auto_delete=True
        )
        q = await channel.declare_queue(queue, auto_delete=False)
        await q.bind(ex, routing_key="orders")

    rabbit(declare)
    ws = api.workspace()
    wh = api.webhook(
        ws,
        None,
        destination={"type": "rabbitmq", "url": AMQP, "exchange": exchange, "routingKey": "orders"},
    )
    assert wh["url"] == "amqp://127.0.0.1:5672/" and wh["destination"]["exchange"] == exchange
    event = api.send(ws, "order.paid", {"total": 42})
    dlv = delivery_of(api, event)
    assert dlv["status"] == "succeeded", dlv
    (attempt,) = dlv["attempts"]
    assert attempt["response"]["status"] is None
    assert json.loads(attempt["response"]["body"])["routingKey"] == "orders"

    async def take(channel: aio_pika.abc.AbstractChannel) -> tuple[dict[str, Any], bytes, str]:
        q = await channel.get_queue(queue)
        message = await q.get(timeout=5)
        assert message is not None
        await message.ack()
        await q.delete(if_unused=False, if_empty=False)
        return dict(message.headers), message.body, str(message.message_id)

    headers, body, message_id = rabbit(take)
    envelope = verified(api, wh, headers, body)
    assert (envelope["type"], envelope["data"], message_id) == (
        "order.paid",
        {"total": 42},
        event["id"],
    )


def test_rabbitmq_unroutable_is_a_failed_attempt_then_retried(api: Api) -> None:
    require(RABBITMQ)
    exchange, queue = f"hooks-{uuid.uuid4().hex[:8]}", f"q-{uuid.uuid4().hex[:8]}"

    async def declare(channel: aio_pika.abc.AbstractChannel) -> None:
        await channel.declare_exchange(exchange, aio_pika.ExchangeType.DIRECT, auto_delete=False)

    rabbit(declare)
    ws = api.workspace()
    api.webhook(
        ws,
        None,
        destination={"type": "rabbitmq", "url": AMQP, "exchange": exchange},
        # The retry waits long enough for a slow machine to see attempt 1 and bind the queue.
        retryPolicy={"schedule": [0, 8], "jitter": 0},
    )
    event = api.send(ws, "order.paid", {"n": 1})  # routing key: the event type
    (dlv,) = api.deliveries_of(event["id"])
    first = poll(
        lambda: api.delivery(dlv["id"]), lambda d: len(d["attempts"]) == 1, what="attempt 1"
    )
    # Not ended: waiting for its retry, or already in it when this machine was slow to look.
    assert first["attempts"][0]["error"] == "unroutable" and first["status"] in {
        "pending",
        "sending",
    }

    async def bind(channel: aio_pika.abc.AbstractChannel) -> None:
        q = await channel.declare_queue(queue, auto_delete=True)
        await q.bind(await channel.get_exchange(exchange), routing_key="order.paid")

    rabbit(bind)
    settled = api.settled(dlv["id"], timeout=20)
    assert (settled["status"], settled["attemptCount"]) == ("succeeded", 2)

    async def clean(channel: aio_pika.abc.AbstractChannel) -> None:
        await (await channel.get_exchange(exchange)).delete()

    rabbit(clean)


class _HangsUpOnDeclare(socketserver.BaseRequestHandler):
    """A proxy to RabbitMQ that closes the connection when the client declares an exchange
    (an AMQP method frame of class 40, method 10): a broker gone in the middle of a publish."""

    def handle(self) -> None:
        with socket.create_connection(("127.0.0.1", 5672)) as upstream:
            threading.Thread(target=self._pipe, args=(upstream,), daemon=True).start()
            client = self.request.makefile("rb")
            upstream.sendall(client.read(8))  # the protocol header
            while head := client.read(7):
                kind, _channel, size = struct.unpack(">BHI", head)
                payload = client.read(size + 1)
                if kind == 1 and payload[:4] == struct.pack(">HH", 40, 10):
                    self.request.shutdown(socket.SHUT_RDWR)
                    return
                upstream.sendall(head + payload)

    def _pipe(self, upstream: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                self.request.sendall(data)


def test_rabbitmq_closing_the_connection_mid_publish_is_a_failed_attempt(api: Api) -> None:
    require(RABBITMQ)
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _HangsUpOnDeclare) as proxy:
        proxy.daemon_threads = True
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        url = f"amqp://127.0.0.1:{proxy.server_address[1]}/"
        ws = api.workspace()
        api.webhook(
            ws,
            None,
            destination={"type": "rabbitmq", "url": url, "exchange": "amq.direct"},
            retryPolicy={"schedule": [0]},
        )
        dlv = delivery_of(api, api.send(ws, "order.paid", {}))
        proxy.shutdown()
    assert (dlv["status"], dlv["attemptCount"]) == ("failed", 1), dlv
    assert dlv["attempts"][0]["error"] == "publish_error"


# -- NATS JetStream ---------------------------------------------------------------------------


def jetstream(coroutine: Any) -> Any:
    async def run() -> Any:
        client = await nats.connect(NATS)
        try:
            return await coroutine(client.jetstream())
        finally:
            await client.close()

    return asyncio.run(run())


def test_nats_jetstream_publish_is_acknowledged_and_deduplicated(api: Api) -> None:
    require(NATS_SERVER)
    stream, subject = f"HOOKS{uuid.uuid4().hex[:8].upper()}", f"hooks.{uuid.uuid4().hex[:8]}"

    async def add(js: Any) -> None:
        await js.add_stream(name=stream, subjects=[subject])

    jetstream(add)
    try:
        ws = api.workspace()
        wh = api.webhook(ws, None, destination={"type": "nats", "url": NATS, "subject": subject})
        event = api.send(ws, "order.paid", {"total": 7})
        dlv = delivery_of(api, event)
        assert dlv["status"] == "succeeded", dlv
        receipt = json.loads(dlv["attempts"][0]["response"]["body"])
        assert (receipt["stream"], receipt["seq"]) == (stream, 1)
        # A resend of the same event is the same message id: JetStream drops the copy.
        resent = api.post(f"/v1/deliveries/{dlv['id']}/resend", {}, status=202)
        again = api.settled(resent["id"])
        assert json.loads(again["attempts"][0]["response"]["body"])["duplicate"] is True

        async def read(js: Any) -> Any:
            return await js.get_msg(stream, 1)

        message = jetstream(read)
        assert message.headers["Nats-Msg-Id"] == event["id"]
        envelope = verified(api, wh, message.headers, message.data)
        assert envelope["data"] == {"total": 7}
    finally:

        async def drop(js: Any) -> None:
            await js.delete_stream(stream)

        jetstream(drop)


def test_nats_subject_without_a_stream_is_no_stream(api: Api) -> None:
    require(NATS_SERVER)
    ws = api.workspace()
    subject = f"nowhere.{uuid.uuid4().hex[:8]}"
    api.webhook(
        ws,
        None,
        destination={"type": "nats", "url": NATS, "subject": subject},
        retryPolicy={"schedule": [0]},
    )
    dlv = delivery_of(api, api.send(ws, "order.paid", {}))
    assert (dlv["status"], dlv["attempts"][0]["error"]) == ("failed", "no_stream")


@pytest.mark.parametrize("reply", [b"not json", b"{}", b'{"stream": "s"}'])
def test_a_nats_reply_that_is_no_acknowledgement_is_an_unexpected_response(
    api: Api, reply: bytes
) -> None:
    """A subscriber of the subject (no stream takes it) answers the publish: its reply is
    the destination's answer, recorded, not a fault of Hookline's own."""
    require(NATS_SERVER)
    subject = f"answered.{uuid.uuid4().hex[:8]}"
    subscribed, done = threading.Event(), threading.Event()

    async def responder() -> None:
        client = await nats.connect(NATS)

        async def answer(message: Any) -> None:
            await message.respond(reply)

        await client.subscribe(subject, cb=answer)
        await client.flush()
        subscribed.set()
        await asyncio.to_thread(done.wait)
        await client.close()

    thread = threading.Thread(target=asyncio.run, args=(responder(),), daemon=True)
    thread.start()
    try:
        assert subscribed.wait(10), "the responder did not subscribe"
        ws = api.workspace()
        api.webhook(
            ws,
            None,
            destination={"type": "nats", "url": NATS, "subject": subject},
            retryPolicy={"schedule": [0]},
        )
        dlv = delivery_of(api, api.send(ws, "order.paid", {}))
    finally:
        done.set()
        thread.join(10)
    assert (dlv["status"], dlv["attemptCount"]) == ("failed", 1), dlv
    assert dlv["attempts"][0]["error"] == "unexpected_response"


# -- Redis Streams ----------------------------------------------------------------------------


def test_redis_stream_gets_one_entry_per_attempt(api: Api) -> None:
    require(REDIS_SERVER)
    stream = f"hooks:{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(REDIS)
    try:
        ws = api.workspace()
        wh = api.webhook(
            ws, None, destination={"type": "redis", "url": REDIS, "stream": stream, "maxLen": 100}
        )
        event = api.send(ws, "order.paid", {"total": 9})
        dlv = delivery_of(api, event)
        assert dlv["status"] == "succeeded", dlv
        receipt = json.loads(dlv["attempts"][0]["response"]["body"])
        ((entry_id, fields),) = client.xrange(stream)
        assert receipt["id"] == entry_id.decode()
        headers = {k.decode(): v.decode() for k, v in fields.items() if k != b"body"}
        envelope = verified(api, wh, headers, fields[b"body"])
        assert envelope["id"] == event["id"] and envelope["data"] == {"total": 9}
    finally:
        client.delete(stream)
        client.close()


def test_a_broker_that_is_down_is_a_connect_error(api: Api) -> None:
    port = free_port()
    ws = api.workspace()
    api.webhook(
        ws,
        None,
        destination={"type": "redis", "url": f"redis://127.0.0.1:{port}/0", "stream": "x"},
        retryPolicy={"schedule": [0]},
    )
    dlv = delivery_of(api, api.send(ws, "order.paid", {}))
    assert (dlv["status"], dlv["attempts"][0]["error"]) == ("failed", "connect_error")


class _Answering(socketserver.BaseRequestHandler):
    """Answers whatever it is sent with the server's ``answer``, until the client hangs up."""

    def handle(self) -> None:
        while self.request.recv(65536):
            self.request.sendall(self.server.answer)  # type: ignore[attr-defined]


@pytest.mark.parametrize("answer", [b"not redis\r\n", b":5\r\n"])
def test_a_server_that_does_not_speak_redis_is_an_unexpected_response(
    api: Api, answer: bytes
) -> None:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Answering) as server:
        server.daemon_threads = True
        server.answer = answer  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        ws = api.workspace()
        api.webhook(
            ws,
            None,
            destination={"type": "redis", "url": f"redis://127.0.0.1:{port}/0", "stream": "x"},
            retryPolicy={"schedule": [0]},
        )
        dlv = delivery_of(api, api.send(ws, "order.paid", {}))
        server.shutdown()
    assert (dlv["status"], dlv["attemptCount"]) == ("failed", 1), dlv
    assert dlv["attempts"][0]["error"] == "unexpected_response"


# -- AWS on a local moto server ---------------------------------------------------------------


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        poll(
            lambda: listening("127.0.0.1", port, timeout=0.5),
            bool,
            timeout=30,
            interval=0.05,
            what="moto listening",
        )
        yield url
    finally:
        process.terminate()
        process.wait(10)


def aws(service: str, endpoint: str) -> Any:
    return botocore.session.get_session().create_client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def credentials(endpoint: str) -> dict[str, str]:
    return {
        "region": REGION,
        "endpointUrl": endpoint,
        "accessKeyId": "testing",
        "secretAccessKey": "test-secret-key",
    }


def received(sqs: Any, queue_url: str) -> dict[str, Any]:
    found = poll(
        lambda: sqs.receive_message(
            QueueUrl=queue_url, MessageAttributeNames=["All"], WaitTimeSeconds=1
        ).get("Messages", []),
        bool,
        timeout=15,
        what="a message in the queue",
    )
    message: dict[str, Any] = found[0]
    return message


def test_sqs_message_carries_the_signature_as_attributes(api: Api, moto: str) -> None:
    sqs = aws("sqs", moto)
    queue_url = sqs.create_queue(QueueName=f"hooks-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    ws = api.workspace()
    wh = api.webhook(
        ws, None, destination={"type": "sqs", "queueUrl": queue_url, **credentials(moto)}
    )
    assert "secretAccessKey" not in wh["destination"] and wh["url"] == queue_url
    event = api.send(ws, "order.paid", {"total": 3})
    dlv = delivery_of(api, event)
    assert dlv["status"] == "succeeded", dlv
    message = received(sqs, queue_url)
    assert json.loads(dlv["attempts"][0]["response"]["body"])["messageId"] == message["MessageId"]
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert len(attributes) <= 10 and "webhook-signature" in attributes
    envelope = verified(api, wh, attributes, message["Body"].encode())
    assert envelope["data"] == {"total": 3}


def test_sns_publishes_to_a_topic_its_queue_subscribes(api: Api, moto: str) -> None:
    sns, sqs = aws("sns", moto), aws("sqs", moto)
    topic = sns.create_topic(Name=f"hooks-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"sub-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    ws = api.workspace()
    wh = api.webhook(ws, None, destination={"type": "sns", "topicArn": topic, **credentials(moto)})
    event = api.send(ws, "order.paid", {"total": 4})
    assert delivery_of(api, event)["status"] == "succeeded"
    message = received(sqs, queue_url)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    envelope = verified(api, wh, attributes, message["Body"].encode())
    assert envelope["id"] == event["id"]


def test_eventbridge_puts_the_envelope_as_detail(api: Api, moto: str) -> None:
    events, sqs = aws("events", moto), aws("sqs", moto)
    bus = f"hooks-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=bus)
    queue_url = sqs.create_queue(QueueName=f"bus-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    events.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(
        Rule="all",
        EventBusName=bus,
        Targets=[{"Id": "q", "Arn": queue_arn["Attributes"]["QueueArn"]}],
    )
    ws = api.workspace()
    api.webhook(
        ws,
        None,
        destination={
            "type": "eventbridge",
            "eventBusName": bus,
            "source": "shop",
            **credentials(moto),
        },
    )
    event = api.send(ws, "order.paid", {"total": 5})
    dlv = delivery_of(api, event)
    assert dlv["status"] == "succeeded", dlv
    assert json.loads(dlv["attempts"][0]["response"]["body"])["eventId"]
    put = json.loads(received(sqs, queue_url)["Body"])
    assert (put["source"], put["detail-type"]) == ("shop", "order.paid")
    assert put["detail"]["id"] == event["id"] and put["detail"]["data"] == {"total": 5}


# What a local endpoint standing in for AWS answers with 200, and the attempt's error.
UNEXPECTED_ANSWERS = [
    ("sqs", "not json", "unexpected_response"),  # botocore reads nothing: no MessageId
    ("sqs", '{"MessageId": 5}', "unexpected_response"),
    ("sns", "not xml", "unexpected_response"),  # botocore's ResponseParserError
    ("sns", "<x/>", "unexpected_response"),  # botocore's parser fails on a missing element
    ("sns", "<PublishResponse><PublishResult/></PublishResponse>", "unexpected_response"),
    ("eventbridge", "{}", "unexpected_response"),  # no Entries
    ("eventbridge", '{"Entries": []}', "unexpected_response"),
    ("eventbridge", '{"FailedEntryCount": 0, "Entries": [{}]}', "unexpected_response"),
    (
        "eventbridge",
        '{"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", '
        '"ErrorMessage": "try again"}]}',
        "publish_error",
    ),
]
TARGETS = {
    "sqs": lambda url: {"queueUrl": url},
    "sns": lambda url: {"topicArn": "arn:aws:sns:eu-west-1:123456789012:hooks"},
    "eventbridge": lambda url: {"eventBusName": "hooks"},
}


@pytest.mark.parametrize(("kind", "body", "error"), UNEXPECTED_ANSWERS)
def test_an_aws_answer_the_client_cannot_read_is_a_failed_attempt(
    api: Api, receiver: Receiver, kind: str, body: str, error: str
) -> None:
    """What the destination answers is the destination's outcome: one attempt with the
    error, and the retry policy's next step (one attempt: failed)."""
    endpoint = receiver.endpoint()
    endpoint.respond(lambda _request: Reply(body=body, content_type="application/json"))
    ws = api.workspace()
    destination = {"type": kind, **TARGETS[kind](endpoint.url), **credentials(endpoint.url)}
    api.webhook(ws, None, destination=destination, retryPolicy={"schedule": [0]})
    dlv = delivery_of(api, api.send(ws, "order.paid", {"total": 6}))
    assert (dlv["status"], dlv["attemptCount"], dlv["lastError"]) == ("failed", 1, error), dlv
    (attempt,) = dlv["attempts"]
    assert (attempt["error"], attempt["response"], attempt["outcome"]) == (error, None, "failure")
    assert len(endpoint.requests) == 1


def test_an_unexpected_aws_answer_is_retried_by_the_policy(api: Api, receiver: Receiver) -> None:
    answers = iter(["not json", '{"MessageId": "m-1"}'])
    endpoint = receiver.endpoint()
    endpoint.respond(lambda _request: Reply(body=next(answers), content_type="application/json"))
    ws = api.workspace()
    api.webhook(
        ws,
        None,
        destination={"type": "sqs", "queueUrl": endpoint.url, **credentials(endpoint.url)},
        retryPolicy={"schedule": [0, 0.5], "jitter": 0},
    )
    dlv = delivery_of(api, api.send(ws, "order.paid", {}))
    assert (dlv["status"], dlv["attemptCount"]) == ("succeeded", 2), dlv
    first, second = dlv["attempts"]
    assert (first["error"], first["outcome"]) == ("unexpected_response", "failure")
    assert json.loads(second["response"]["body"]) == {"messageId": "m-1"}


def test_a_destination_is_checked_on_save(api: Api) -> None:
    ws = api.workspace()
    cases = [
        ({"type": "kafka"}, "destination.type"),
        ({"type": "rabbitmq", "url": AMQP}, "destination.exchange"),
        (
            {"type": "rabbitmq", "url": "amqp://guest:guest@127.0.0.1/", "exchange": "x"},
            "destination.url",
        ),
        ({"type": "nats", "url": NATS, "subject": "a.*"}, "destination.subject"),
        ({"type": "redis", "url": "http://127.0.0.1:6379", "stream": "s"}, "destination.url"),
        (
            {"type": "sqs", "queueUrl": "https://sqs.example.com/1/q", "region": "mars"},
            "destination.region",
        ),
    ]
    for destination, field in cases:
        error = api.post(
            f"/v1/workspaces/{ws}/webhooks",
            {"events": ["*"], "destination": destination},
            status=422,
        )
        assert (error["code"], error["details"][0]["field"]) == ("invalid_destination", field), (
            error
        )
