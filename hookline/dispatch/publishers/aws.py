"""AWS: SQS ``SendMessage``, SNS ``Publish`` and EventBridge ``PutEvents`` (botocore).

botocore is synchronous: each call runs on a thread. SQS and SNS take at most ten message
attributes: the signature headers first, then Hookline's own delivery headers (each a
``String`` attribute, named as sent), then custom ones while there is room. An SNS FIFO
topic and an SQS FIFO queue get the event id as deduplication id and the webhook id as
group. EventBridge takes the envelope as the event's ``detail``, the event type as its
``detail-type`` and the destination's ``source``; its entries carry no attributes, so the
signature stays behind: an EventBridge bus authenticates the publisher by IAM.

Outside dev mode the endpoint's host (``endpointUrl``, or the queue URL's) is resolved and
checked before each call, as a broker's is.

An answer is the destination's outcome, whatever it says: one botocore cannot parse, or
without the message id (event id) that acknowledges the message, is refused as
``unexpected_response``; an EventBridge entry it reports failed is ``publish_error``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import botocore.config
import botocore.exceptions
import botocore.parsers
import botocore.session
from yarl import URL

from hookline.dispatch.publishers import (
    UNREADABLE,
    Guard,
    Refused,
    acknowledged,
    header,
    unexpected,
)
from hookline.dispatch.publishers.clients import Clients
from hookline.dispatch.transport import OutboundRequest, SendResult
from hookline.domain import queues
from hookline.domain.attempt_errors import AttemptError

MAX_ATTRIBUTES = 10
SIGNATURE_HEADERS = (
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "signature",
    "signature-input",
    "content-digest",
)
SERVICES: dict[type[queues.Aws], str] = {
    queues.SQS: "sqs",
    queues.SNS: "sns",
    queues.EventBridge: "events",
}


class Aws:
    def __init__(self) -> None:
        self._session = botocore.session.get_session()
        self._creating = threading.Lock()  # a botocore session makes one client at a time
        self._clients: Clients[tuple[str, str, str | None, str | None, str | None], Any] = Clients(
            close=_close
        )

    async def publish(self, request: OutboundRequest, guard: Guard) -> SendResult:
        start = time.perf_counter()
        destination = request.destination
        assert isinstance(destination, queues.Aws)
        queue = destination.queue_url if isinstance(destination, queues.SQS) else None
        endpoint = destination.endpoint_url or queue
        if endpoint:
            url = URL(endpoint)
            await guard.address(url.host or "", url.port or 443, every=True)
        try:
            client = await self._clients.get(
                destination.client,
                lambda: asyncio.to_thread(self._create, destination, request.timeout),
            )
            receipt = await asyncio.to_thread(_call, client, destination, request)
        except botocore.exceptions.EndpointConnectionError as exc:
            raise Refused(AttemptError.CONNECT_ERROR, str(exc)) from exc
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise Refused(AttemptError.PUBLISH_ERROR, str(exc)) from exc
        return acknowledged(request, start, receipt)

    def _create(self, destination: queues.Aws, timeout: float) -> Any:
        with self._creating:
            return self._session.create_client(
                SERVICES[type(destination)],
                region_name=destination.region,
                endpoint_url=destination.endpoint_url,
                aws_access_key_id=destination.access_key_id,
                aws_secret_access_key=destination.secret_access_key,
                config=botocore.config.Config(
                    connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}
                ),
            )

    async def close(self) -> None:
        await self._clients.close()


async def _close(client: Any) -> None:
    client.close()


def _call(client: Any, destination: queues.Aws, request: OutboundRequest) -> dict[str, Any]:
    """Publish ``request`` to ``destination`` with ``client`` (on a thread: botocore blocks);
    the receipt."""
    body = request.body.decode()
    event_id = header(request, "webhook-id") or header(request, "-delivery") or ""
    if isinstance(destination, queues.EventBridge):
        entry = {
            "Source": destination.source or "hookline",
            "DetailType": header(request, "-event") or "webhook",
            "Detail": body,
            "EventBusName": destination.event_bus_name,
        }
        return {"eventId": _event_id(_answer(client.put_events, Entries=[entry]))}
    attributes = {
        name: {"DataType": "String", "StringValue": value}
        for name, value in _attributes(request.headers)
    }
    if isinstance(destination, queues.SQS):
        params: dict[str, Any] = {
            "QueueUrl": destination.queue_url,
            "MessageBody": body,
            "MessageAttributes": attributes,
        }
        if destination.queue_url.endswith(".fifo"):
            params |= {"MessageDeduplicationId": event_id, "MessageGroupId": "hookline"}
        return {"messageId": _text(_answer(client.send_message, **params), "MessageId")}
    assert isinstance(destination, queues.SNS)
    params = {
        "TopicArn": destination.topic_arn,
        "Message": body,
        "MessageAttributes": attributes,
    }
    if destination.topic_arn.endswith(".fifo"):
        params |= {"MessageDeduplicationId": event_id, "MessageGroupId": "hookline"}
    return {"messageId": _text(_answer(client.publish, **params), "MessageId")}


def _answer(call: Callable[..., Any], **params: Any) -> Any:
    """What the service answered ``call(**params)``. botocore's own errors pass; an answer it
    cannot read (its parser's error, or a ``KeyError``/``AttributeError``… from a parser
    that finds the shape it expects missing) is the destination's ``unexpected_response``."""
    try:
        return call(**params)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        raise
    except (botocore.parsers.ResponseParserError, *UNREADABLE) as exc:
        raise unexpected(exc) from exc


def _text(answer: Any, name: str) -> str:
    """The answer's field ``name``, a non-empty string, or the refusal of an answer without it."""
    value = answer.get(name) if isinstance(answer, dict) else None
    if not isinstance(value, str) or not value:
        raise Refused(AttemptError.UNEXPECTED_RESPONSE, f"the answer has no {name}")
    return value


def _event_id(answer: Any) -> str:
    """The event id of ``PutEvents``' one entry; its error code when EventBridge says it failed."""
    entries = answer.get("Entries") if isinstance(answer, dict) else None
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        raise Refused(AttemptError.UNEXPECTED_RESPONSE, "the answer has not one entry")
    (entry,) = entries
    if answer.get("FailedEntryCount") or entry.get("ErrorCode"):
        code, message = entry.get("ErrorCode", ""), entry.get("ErrorMessage", "")
        raise Refused(AttemptError.PUBLISH_ERROR, f"PutEvents: {code}: {message}")
    return _text(entry, "EventId")


def _attributes(headers: Any) -> list[tuple[str, str]]:
    """At most ``MAX_ATTRIBUTES`` headers as message attributes: signatures, then Hookline's
    delivery headers, then the rest (attribute names may not start with ``AWS.``)."""
    items = [(k, v) for k, v in headers.items() if k.lower() not in ("content-type", "user-agent")]

    def rank(item: tuple[str, str]) -> int:
        name = item[0].lower()
        if name in SIGNATURE_HEADERS or "signature" in name:
            return 0
        return 1 if name.startswith("x-") else 2

    ordered = sorted(items, key=rank)
    return [(k, v) for k, v in ordered if not k.lower().startswith(("aws.", "amazon."))][
        :MAX_ATTRIBUTES
    ]


def make() -> Aws:
    return Aws()
