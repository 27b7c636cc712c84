"""Tracing in-process: the SDK's in-memory exporter collects the spans of ingest and dispatch
on both stores, with receivers on 127.0.0.1.

Each event is ingested by the service layer and delivered by a dispatcher that knows only
what the store gives it, so an attempt span finds its parent through the stored delivery.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from aiohttp import web
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from support.brokers import REDIS as REDIS_SERVER
from support.brokers import require
from support.polling import eventually
from support.receiver import Receiver
from test_dispatcher import Rig

from hookline import tracing, verify
from hookline.api.app import create_app
from hookline.dispatch.transport import OutboundRequest, SendResult
from hookline.domain.webhook_commands import parse_create
from hookline.ids import now_ms
from hookline.server import dispatcher_for
from hookline.service.access import ADMIN

REDIS = "redis://127.0.0.1:6379/0"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PRODUCER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PRODUCER_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, into memory, for the test."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.shutdown()


@pytest.fixture
async def rig(tmp_path: Path, database: str) -> AsyncIterator[Callable[..., Awaitable[Rig]]]:
    made: list[Rig] = []

    async def make(**overrides: Any) -> Rig:
        made.append(Rig(tmp_path / f"rig{len(made)}", database_url=database, **overrides))
        await made[-1].open()
        return made[-1]

    yield make
    for one in made:
        await one.close()


class Headers:
    """A route that records the W3C headers of each request it answers."""

    def __init__(self, receiver: Receiver) -> None:
        self.seen: list[dict[str, str]] = []
        self.verified: list[bool] = []  # of each request, when the route checks RFC 9421
        self._receiver = receiver

    def route(
        self, path: str, *, fail_first: bool = False, rfc9421_secret: str | None = None
    ) -> str:
        """``fail_first``: each delivery's first attempt is answered 500, the others 200.
        ``rfc9421_secret``: check each request's RFC 9421 signature with it."""

        async def handle(request: web.BaseRequest) -> web.StreamResponse:
            self.seen.append(
                {k: v for k, v in request.headers.items() if k.lower() in TRACE_HEADERS}
            )
            if rfc9421_secret is not None:
                body = await request.read()
                try:
                    verify.verify(
                        "rfc9421",
                        request.headers,
                        body,
                        secret=rfc9421_secret,
                        url=str(request.url),
                    )
                except verify.VerificationError:
                    self.verified.append(False)
                else:
                    self.verified.append(True)
            first = request.headers["X-Hookline-Attempt"] == "1"
            return web.Response(status=500 if fail_first and first else 200)

        return self._receiver.endpoint(path=path, handler=handle).url


TRACE_HEADERS = {"traceparent", "tracestate"}


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def hexid(value: int, width: int) -> str:
    return format(value, f"0{width}x")


async def attempts(exporter: InMemorySpanExporter, count: int) -> list[ReadableSpan]:
    async def finished() -> list[ReadableSpan]:
        return named(exporter, "hookline.attempt")

    return await eventually(
        finished, lambda found: len(found) >= count, what=f"{count} attempt spans"
    )


async def test_one_trace_per_event_from_ingest_through_every_attempt(
    rig: Callable[..., Awaitable[Rig]], receiver: Receiver, spans: InMemorySpanExporter
) -> None:
    r = await rig()
    ws = await r.workspace()
    ok = await r.webhook(ws, receiver.endpoint(path="/ok").url)
    flaky_url = Headers(receiver).route("/flaky", fail_first=True)
    flaky = await r.webhook(ws, flaky_url, retryPolicy={"schedule": [0, 0.1]})
    events = await r.send(ws, 2)
    r.start()
    found = await attempts(spans, 2 * 3)  # each event: /ok once, /flaky twice
    await r.stop()

    ingests = named(spans, "hookline.ingest")
    assert [s.attributes["hookline.event.id"] for s in ingests] == events
    assert len({s.context.trace_id for s in ingests}) == 2, "one trace per event"
    for ingest in ingests:
        assert ingest.parent is None
        assert ingest.attributes["hookline.workspace.id"] == ws
        assert ingest.attributes["hookline.event.type"] == "job.done"
        assert ingest.attributes["hookline.deliveries"] == 2
        mine = [
            s
            for s in found
            if s.attributes["hookline.event.id"] == ingest.attributes["hookline.event.id"]
        ]
        assert len(mine) == 3
        for attempt in mine:
            assert attempt.kind is SpanKind.CLIENT
            assert attempt.context.trace_id == ingest.context.trace_id
            assert attempt.parent is not None
            assert attempt.parent.span_id == ingest.context.span_id
        retried = sorted(
            (s for s in mine if s.attributes["hookline.webhook.id"] == flaky),
            key=lambda s: s.attributes["hookline.attempt"],
        )
        assert [s.attributes["hookline.attempt"] for s in retried] == [1, 2]
        assert [s.attributes["hookline.retry"] for s in retried] == [0, 1]
        assert [s.attributes["http.response.status_code"] for s in retried] == [500, 200]
        assert [s.attributes["hookline.outcome"] for s in retried] == ["retry", "succeeded"]
        assert [s.status.status_code for s in retried] == [StatusCode.ERROR, StatusCode.UNSET]
        assert retried[0].attributes["url.full"] == flaky_url
        assert retried[0].attributes["server.address"] == "127.0.0.1"
        assert retried[0].attributes["hookline.destination"] == "http"
        assert len({s.attributes["hookline.delivery.id"] for s in retried}) == 1
        (plain,) = [s for s in mine if s.attributes["hookline.webhook.id"] == ok]
        assert plain.attributes["hookline.outcome"] == "succeeded"


@pytest.mark.parametrize("propagation", [True, False], ids=["propagation", "no-propagation"])
async def test_traceparent_reaches_the_receiver_only_when_propagation_is_on(
    rig: Callable[..., Awaitable[Rig]],
    receiver: Receiver,
    spans: InMemorySpanExporter,
    propagation: bool,
) -> None:
    r = await rig(trace_propagation=propagation)
    ws = await r.workspace()
    seen = Headers(receiver)
    # RFC 9421 signs a list of components: the header added after signing must not break it.
    await r.webhook(ws, seen.route("/h", rfc9421_secret=SECRET), secret=SECRET)
    await r.svc.workspaces.update(ADMIN, ws, {"settings": {"delivery": {"signature": "rfc9421"}}})
    await r.send(ws)
    r.start()
    (attempt,) = await attempts(spans, 1)
    await r.stop()

    (ingest,) = named(spans, "hookline.ingest")
    (headers,) = seen.seen
    assert seen.verified == [True]
    if not propagation:
        assert headers == {}
        return
    version, trace_id, parent_id, flags = headers["traceparent"].split("-")
    assert trace_id == hexid(ingest.context.trace_id, 32)
    assert parent_id == hexid(attempt.context.span_id, 16)
    assert version == "00" and int(flags, 16) & 1, "sampled"
    assert attempt.attributes["hookline.outcome"] == "succeeded"


async def test_a_transformed_request_carries_the_attempts_traceparent_too(
    rig: Callable[..., Awaitable[Rig]], receiver: Receiver, spans: InMemorySpanExporter
) -> None:
    r = await rig(trace_propagation=True)
    ws = await r.workspace()
    seen = Headers(receiver)
    code = "function handler(w) { w.headers['X-Team'] = 'blue'; return w; }"
    await r.webhook(ws, seen.route("/t"), transformation={"code": code})
    await r.send(ws)
    r.start()
    (attempt,) = await attempts(spans, 1)
    await r.stop()
    (headers,) = seen.seen
    assert headers["traceparent"].split("-")[2] == hexid(attempt.context.span_id, 16)


async def test_with_tracing_off_nothing_is_traced_stored_or_sent(
    rig: Callable[..., Awaitable[Rig]], receiver: Receiver
) -> None:
    exporter = InMemorySpanExporter()
    TracerProvider().add_span_processor(SimpleSpanProcessor(exporter))  # made, never installed
    tracing.setup("off", "all")
    assert not tracing.enabled()
    r = await rig(trace_propagation=True)
    ws = await r.workspace()
    seen = Headers(receiver)
    await r.webhook(ws, seen.route("/h"))
    await r.send(ws)
    (claim,) = await r.store.claim_due("test", limit=1, now=now_ms(), lease_ms=60_000)
    assert claim.trace_context is None
    await r.store.release("test", [claim.delivery_id])
    r.start()
    await r.settled(ws, 1)
    await r.stop()
    assert seen.seen == [{}]
    assert exporter.get_finished_spans() == ()


async def test_the_producers_traceparent_is_the_ingest_spans_parent(
    rig: Callable[..., Awaitable[Rig]], receiver: Receiver, spans: InMemorySpanExporter
) -> None:
    r = await rig()
    ws = await r.workspace()
    await r.webhook(ws, receiver.endpoint(path="/h").url)
    app = create_app(r.svc)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hookline") as client:
        sent = await client.post(
            f"/v1/workspaces/{ws}/events",
            json={"type": "job.done", "data": {}},
            headers={
                "Authorization": "Bearer hk_admin_test",
                "traceparent": f"00-{PRODUCER_TRACE}-{PRODUCER_SPAN}-01",
            },
        )
    assert sent.status_code == 202, sent.text
    r.start()
    (attempt,) = await attempts(spans, 1)
    await r.stop()

    (ingest,) = named(spans, "hookline.ingest")
    assert ingest.attributes["hookline.event.id"] == sent.json()["data"]["id"]
    assert hexid(ingest.context.trace_id, 32) == PRODUCER_TRACE
    assert ingest.parent is not None and hexid(ingest.parent.span_id, 16) == PRODUCER_SPAN
    assert attempt.parent is not None and attempt.parent.span_id == ingest.context.span_id


async def test_a_resend_is_a_span_linked_to_the_event_and_parent_of_the_resent_attempt(
    rig: Callable[..., Awaitable[Rig]], receiver: Receiver, spans: InMemorySpanExporter
) -> None:
    r = await rig()
    ws = await r.workspace()
    await r.webhook(ws, receiver.endpoint(path="/h").url)
    await r.send(ws)
    r.start()
    (dlv,) = await r.settled(ws, 1)
    resent = await r.svc.deliveries.resend(ADMIN, dlv.id)
    found = await attempts(spans, 2)
    await r.stop()

    (resend,) = named(spans, "hookline.resend")
    assert resend.attributes["hookline.delivery.id"] == dlv.id
    (again,) = [s for s in found if s.attributes["hookline.delivery.id"] == resent.id]
    assert again.parent is not None and again.parent.span_id == resend.context.span_id
    (ingest,) = named(spans, "hookline.ingest")
    assert resend.context.trace_id != ingest.context.trace_id
    (link,) = resend.links
    assert (link.context.trace_id, link.context.span_id) == (
        ingest.context.trace_id,
        ingest.context.span_id,
    )


async def test_a_recovery_links_to_each_event_it_resends(
    rig: Callable[..., Awaitable[Rig]], receiver: Receiver, spans: InMemorySpanExporter
) -> None:
    r = await rig()
    ws = await r.workspace()
    wh = await r.webhook(ws, receiver.endpoint(path="/h").url)
    await r.send(ws, 3)
    r.start()
    await r.settled(ws, 3)
    count = await r.svc.deliveries.recover(ADMIN, wh, {"since": 0, "statuses": ["succeeded"]})
    assert count == 3
    found = await attempts(spans, 6)
    await r.stop()

    (recover,) = named(spans, "hookline.recover")
    assert recover.attributes["hookline.deliveries"] == 3
    ingests = {s.context.span_id for s in named(spans, "hookline.ingest")}
    assert {link.context.span_id for link in recover.links} == ingests
    children = [s for s in found if s.parent and s.parent.span_id == recover.context.span_id]
    assert len(children) == 3


async def test_a_test_ping_is_a_span_whose_child_is_its_attempt(
    rig: Callable[..., Awaitable[Rig]], receiver: Receiver, spans: InMemorySpanExporter
) -> None:
    r = await rig()
    ws = await r.workspace()
    wh = await r.webhook(ws, receiver.endpoint(path="/h").url)
    r.start()
    dlv, _attempts = await r.svc.deliveries.test(ADMIN, wh)
    (attempt,) = await attempts(spans, 1)
    await r.stop()

    (ping,) = named(spans, "hookline.test")
    assert ping.attributes["hookline.webhook.id"] == wh
    assert ping.attributes["hookline.event.type"] == "test"
    assert attempt.attributes["hookline.delivery.id"] == dlv.id
    assert attempt.parent is not None and attempt.parent.span_id == ping.context.span_id
    assert named(spans, "hookline.ingest") == []


class Failing:
    """A transport with a bug: its first send raises, the next ones post for real."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.raised = False

    async def send(self, request: OutboundRequest) -> SendResult:
        if not self.raised:
            self.raised = True
            raise RuntimeError("a bug in the transport")
        result: SendResult = await self.real.send(request)
        return result

    async def close(self) -> None:
        await self.real.close()


async def test_a_fault_of_hooklines_own_marks_the_attempt_span_with_its_exception(
    rig: Callable[..., Awaitable[Rig]], receiver: Receiver, spans: InMemorySpanExporter
) -> None:
    r = await rig(fault_retry_seconds=0.05)
    ws = await r.workspace()
    await r.webhook(ws, receiver.endpoint(path="/h").url)
    await r.send(ws)
    from hookline.dispatch.sender import AiohttpTransport, make_session

    session = make_session(open_network=True, allowed=[], limit=4)
    real = AiohttpTransport(session, open_network=True, allowed=[], allow_http=True)
    dispatcher = dispatcher_for(r.ctx, transport=Failing(real))
    task = asyncio.create_task(dispatcher.run())
    try:
        await r.settled(ws, 1)
        faulted, delivered = await attempts(spans, 2)
    finally:
        dispatcher.stop()
        await asyncio.wait_for(task, 15)
        await session.close()

    assert faulted.status.status_code is StatusCode.ERROR
    assert faulted.attributes["hookline.outcome"] == "fault"
    assert faulted.attributes["hookline.fault.stage"] == "send"
    (event,) = faulted.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.message"] == "a bug in the transport"
    assert delivered.attributes["hookline.outcome"] == "succeeded"
    assert faulted.parent == delivered.parent


async def test_batch_events_are_each_their_own_trace(
    rig: Callable[..., Awaitable[Rig]], spans: InMemorySpanExporter
) -> None:
    r = await rig()
    ws = await r.workspace()
    body = {"events": [{"type": "a", "data": {}}, {"type": 7}, {"type": "b", "data": {}}]}
    results = await r.svc.events.ingest_batch(ADMIN, ws, json.dumps(body).encode())
    assert isinstance(results[1], Exception)
    ingests = named(spans, "hookline.ingest")
    assert [s.attributes["hookline.event.type"] for s in ingests] == ["a", "b"]
    assert [s.attributes["hookline.deliveries"] for s in ingests] == [0, 0]
    assert len({s.context.trace_id for s in ingests}) == 2


async def test_a_queue_destination_gets_the_traceparent_as_a_message_header(
    rig: Callable[..., Awaitable[Rig]], spans: InMemorySpanExporter
) -> None:
    """Redis Streams on 127.0.0.1:6379: the entry carries the attempt span's traceparent."""
    require(REDIS_SERVER)
    stream = f"hooks:trace:{uuid.uuid4().hex[:8]}"
    client = redis.asyncio.Redis.from_url(REDIS)
    try:
        r = await rig(trace_propagation=True)
        ws = await r.workspace()
        await r.svc.webhooks.create(
            ADMIN,
            ws,
            parse_create(
                {"events": ["*"], "destination": {"type": "redis", "url": REDIS, "stream": stream}}
            ),
        )
        await r.send(ws)
        r.start()
        (attempt,) = await attempts(spans, 1)
        await r.stop()
        ((_entry, fields),) = await client.xrange(stream)
    finally:
        await client.delete(stream)
        await client.aclose()

    assert attempt.attributes["hookline.destination"] == "redis"
    assert attempt.attributes["hookline.outcome"] == "succeeded"
    assert attempt.status.status_code is StatusCode.UNSET, "an acknowledgement is a success"
    assert "http.request.method" not in attempt.attributes
    (ingest,) = named(spans, "hookline.ingest")
    _version, trace_id, parent_id, _flags = fields[b"traceparent"].decode().split("-")
    assert trace_id == hexid(ingest.context.trace_id, 32)
    assert parent_id == hexid(attempt.context.span_id, 16)
