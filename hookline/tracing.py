"""OpenTelemetry tracing: one trace per event, from its ingest through every attempt.

Off unless ``HOOKLINE_TRACING=otlp``; then ``setup`` installs a tracer provider whose
spans go out in batches over OTLP/HTTP, configured by the SDK's standard ``OTEL_*``
variables (endpoint, headers, service name, sampler, batch delays). Off, every function
here hands out a span that records nothing (``OFF``), builds nothing, and OpenTelemetry is
not even imported: a deployment without tracing does not carry its libraries.

The trace crosses processes through the database: the span that creates deliveries (an
ingest, a resend, a test ping) is stored with them as its W3C ``traceparent``
(``context_of``), and the dispatcher that claims one opens each attempt's span as a child
of it (``attempt``).
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    from starlette.types import ASGIApp, Receive, Scope, Send

    from hookline.dispatch.outcome import Verdict
    from hookline.dispatch.transport import SendResult
    from hookline.store.port import Claim

SERVICE_NAME = "hookline"
# Longest a stopping process waits for its last spans to be exported.
FLUSH_SECONDS = 3.0


class _Off:
    """The span handed out while tracing is off: it records nothing (as the API's invalid
    span, without importing the API)."""

    def is_recording(self) -> bool:
        return False

    def end(self, end_time: int | None = None) -> None:
        pass

    def set_attribute(self, key: str, value: Any) -> None:
        pass

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        pass

    def set_status(self, *args: Any, **kwargs: Any) -> None:
        pass

    def record_exception(self, *args: Any, **kwargs: Any) -> None:
        pass


OFF = cast("Span", _Off())
_NO_SPAN: AbstractContextManager[Span] = nullcontext(OFF)


@functools.cache
def _propagator() -> TraceContextTextMapPropagator:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator()


class _State:
    """The installed provider and its tracer; ``tracer`` is None while tracing is off."""

    provider: TracerProvider | None = None
    tracer: trace.Tracer | None = None


_state = _State()


def setup(mode: str, role: str) -> None:
    """Start tracing for this process when ``mode`` (``HOOKLINE_TRACING``) is ``otlp``.

    The resource names the service (``OTEL_SERVICE_NAME``, default "hookline") and the
    process's role (``hookline.role``: all, api or worker).
    """
    if mode != "otlp":
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"hookline.role": role})
    if not os.environ.get("OTEL_SERVICE_NAME") and "service.name=" not in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    ):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)  # see shutdown
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    install(provider)


def traces_endpoint() -> str:
    """Where the exporter posts spans, as the ``OTEL_*`` variables say (for the banner)."""
    full = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if full:
        return full
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "http://localhost:4318"
    return f"{base.rstrip('/')}/v1/traces"


def install(provider: TracerProvider) -> None:
    """Trace to ``provider`` from now on (``setup`` uses it; tests give an in-memory one)."""
    _state.provider = provider
    _state.tracer = provider.get_tracer("hookline")


def shutdown(timeout: float = FLUSH_SECONDS) -> None:
    """Export what is still buffered and stop tracing (on process stop), waiting at most
    ``timeout`` seconds: a collector that does not answer must not hold up a stop."""
    provider, _state.provider, _state.tracer = _state.provider, None, None
    if provider is None:
        return
    flush = threading.Thread(target=provider.shutdown, name="hookline-tracing-stop", daemon=True)
    flush.start()
    flush.join(timeout)


def enabled() -> bool:
    return _state.tracer is not None


def start(name: str) -> Span:
    """Start a span, a child of the current context (an inbound request's trace, see
    ``InboundContext``) or else the root of a new trace. The caller ends it."""
    tracer = _state.tracer
    if tracer is None:
        return OFF
    return tracer.start_span(name)


def span(name: str, *, links: Sequence[str] = ()) -> AbstractContextManager[Span]:
    """``start`` as a context manager: the span ends on exit, failed by an exception.
    ``links``: stored contexts (``context_of``) of the spans this one follows from."""
    tracer = _state.tracer
    if tracer is None:
        return _NO_SPAN
    from opentelemetry import trace

    return tracer.start_as_current_span(
        name,
        links=[trace.Link(_span_context(tp)) for tp in links],
        record_exception=True,
        set_status_on_exception=True,
    )


def _span_context(traceparent: str) -> trace.SpanContext:
    from opentelemetry import trace

    parent = _propagator().extract({"traceparent": traceparent})
    return trace.get_current_span(parent).get_span_context()


def describe(span: Span, attributes: Mapping[str, str | int | bool]) -> None:
    """Set ``attributes`` on ``span`` (nothing when it is not recorded)."""
    if span.is_recording():
        span.set_attributes(attributes)


class InboundContext:
    """ASGI middleware: a request's W3C trace context (``traceparent``, ``tracestate``)
    is the current context while it is handled, so the spans it starts continue the
    caller's trace. Installed only while tracing is on."""

    _NAMES = (b"traceparent", b"tracestate")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name in self._NAMES
        }
        if scope["type"] != "http" or "traceparent" not in carrier:
            await self.app(scope, receive, send)
            return
        from opentelemetry import context as otel_context

        token = otel_context.attach(_propagator().extract(carrier))
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)


def context_of(span: Span) -> str | None:
    """The span's W3C ``traceparent``, to store with what it created (None when off)."""
    if not span.is_recording():
        return None
    from opentelemetry import trace

    carrier: dict[str, str] = {}
    _propagator().inject(carrier, trace.set_span_in_context(span))
    return carrier.get("traceparent")


def failed(span: Span, exc: BaseException) -> None:
    """Mark the span failed by ``exc`` (an exception event and status ERROR)."""
    if span.is_recording():
        from opentelemetry.trace import Status, StatusCode

        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


def attempt(claim: Claim) -> AbstractContextManager[Span]:
    """The span of one attempt of ``claim``, a CLIENT child of its stored context."""
    if _state.tracer is None:
        return _NO_SPAN
    return _attempt(_state.tracer, claim)


@contextmanager
def _attempt(tracer: trace.Tracer, claim: Claim) -> Iterator[Span]:
    from opentelemetry.trace import SpanKind

    parent = (
        _propagator().extract({"traceparent": claim.trace_context}) if claim.trace_context else None
    )
    attributes: dict[str, str | int] = {
        "hookline.delivery.id": claim.delivery_id,
        "hookline.webhook.id": claim.webhook.id,
        "hookline.workspace.id": claim.webhook.workspace_id,
        "hookline.event.id": claim.event.id,
        "hookline.event.type": claim.event.type,
        "hookline.attempt": claim.attempt,
        "hookline.retry": claim.attempt - 1,
        "url.full": claim.webhook.url,
    }
    host = urlsplit(claim.webhook.url).hostname
    if host:
        attributes["server.address"] = host
    destination = claim.webhook.destination
    if destination is None:
        attributes["hookline.destination"] = "http"
        attributes["http.request.method"] = "POST"
    else:
        attributes["hookline.destination"] = destination.kind
    with tracer.start_as_current_span(
        "hookline.attempt",
        context=parent,
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=True,
        set_status_on_exception=True,
    ) as span:
        yield span


def attempted(span: Span, result: SendResult, verdict: Verdict) -> None:
    """Record on an attempt's span what the receiver answered and what follows: status
    ERROR unless the answer succeeded the delivery (a queue's acknowledgement has no status
    code)."""
    if not span.is_recording():
        return
    status = result.status_code
    if status is not None:
        span.set_attribute("http.response.status_code", status)
    span.set_attribute("hookline.outcome", verdict.kind)
    if verdict.kind == "succeeded":
        return
    from opentelemetry.trace import Status, StatusCode

    error = result.error or (str(status) if status is not None else "failed")
    span.set_attribute("error.type", error)
    span.set_status(Status(StatusCode.ERROR, error if status is None else f"HTTP {status}"))


def fault(span: Span, stage: str) -> None:
    """Record on an attempt's span a fault of Hookline's own at ``stage`` (called while the
    exception is handled): the delivery goes back to the queue, unattempted."""
    exc = sys.exception()
    if not span.is_recording() or exc is None:
        return
    span.set_attribute("hookline.outcome", "fault")
    span.set_attribute("hookline.fault.stage", stage)
    span.set_attribute("error.type", type(exc).__qualname__)
    failed(span, exc)


def headers(span: Span) -> dict[str, str]:
    """The W3C headers (``traceparent``, ``tracestate`` if any) that carry ``span`` to a
    receiver; none when the span is not recorded."""
    if not span.is_recording():
        return {}
    from opentelemetry import trace

    carrier: dict[str, str] = {}
    _propagator().inject(carrier, trace.set_span_in_context(span))
    return carrier
