"""``hookline serve`` with ``HOOKLINE_TRACING=otlp`` exports its spans over OTLP/HTTP to a
collector of the test's own on 127.0.0.1, from the API process and from the dispatcher
processes, joined into one trace through the stored delivery."""

from __future__ import annotations

import gzip
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from support.polling import poll
from support.receiver import Received, Receiver, Reply
from support.server import Hookline

pytestmark = pytest.mark.slow

PRODUCER_TRACE = "0af7651916cd43dd8448eb211c80319c"
PRODUCER_SPAN = "b7ad6b7169203331"


@dataclass(frozen=True, kw_only=True)
class Exported:
    """One span as the collector received it, with its process's resource attributes."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, object]
    resource: dict[str, object]


class Collector:
    """An OTLP/HTTP trace receiver (``POST {url}/v1/traces``, protobuf bodies): an endpoint of
    the recording receiver that decodes what it gets and answers as a collector does."""

    def __init__(self, receiver: Receiver) -> None:
        self.spans: list[Exported] = []
        self._lock = threading.Lock()
        base = f"/otlp/{uuid.uuid4().hex}"
        self._endpoint = receiver.endpoint(path=f"{base}/v1/traces", respond=self._export)
        self.url = receiver.url(base)

    @property
    def requests(self) -> int:
        return len(self._endpoint.requests)

    def _export(self, request: Received) -> Reply:
        body = request.body
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.add(ExportTraceServiceRequest.FromString(body))
        answer = ExportTraceServiceResponse().SerializeToString()
        return Reply(body=answer, content_type="application/x-protobuf")

    def add(self, request: ExportTraceServiceRequest) -> None:
        found = []
        for rs in request.resource_spans:
            resource = {a.key: _value(a.value) for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for span in ss.spans:
                    found.append(
                        Exported(
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            attributes={a.key: _value(a.value) for a in span.attributes},
                            resource=resource,
                        )
                    )
        with self._lock:
            self.spans += found

    def named(self, name: str) -> list[Exported]:
        with self._lock:
            return [s for s in self.spans if s.name == name]


def _value(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@pytest.fixture
def collector(receiver: Receiver) -> Collector:
    return Collector(receiver)


def server(tmp_path: Path, database_url: str | None, **env: str) -> Hookline:
    return Hookline(
        tmp_path / "hookline",
        database_url=database_url,
        env={"HOOKLINE_WORKERS": "1", "HOOKLINE_TRACE_PROPAGATION": "true", **env},
    )


def test_one_trace_from_the_api_process_through_a_dispatcher_process(
    tmp_path: Path, database_url: str | None, receiver: Receiver, collector: Collector
) -> None:
    hookline = server(
        tmp_path,
        database_url,
        HOOKLINE_TRACING="otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_BSP_SCHEDULE_DELAY="50",
    ).start()
    try:
        with hookline.api() as api:
            ws = api.workspace()
            endpoint = receiver.endpoint()
            api.webhook(ws, endpoint.url)
            event = api.post(
                f"/v1/workspaces/{ws}/events",
                {"type": "trace.me", "data": {}},
                status=202,
                headers={"traceparent": f"00-{PRODUCER_TRACE}-{PRODUCER_SPAN}-01"},
            )
            (request,) = endpoint.wait(1)
            poll(
                lambda: collector.named("hookline.attempt"),
                lambda spans: len(spans) == 1,
                what="the attempt span exported",
            )
            (ingest,) = poll(
                lambda: collector.named("hookline.ingest"),
                lambda spans: len(spans) == 1,
                what="the ingest span exported",
            )
    finally:
        assert hookline.terminate() == 0, hookline.output()

    assert f"Tracing:  OTLP/HTTP to {collector.url}/v1/traces (traceparent sent" in (
        hookline.output()
    )
    (attempt,) = collector.named("hookline.attempt")
    assert ingest.attributes["hookline.event.id"] == event["id"]
    assert ingest.attributes["hookline.deliveries"] == 1
    assert ingest.trace_id == attempt.trace_id == PRODUCER_TRACE
    assert ingest.parent_span_id == PRODUCER_SPAN
    assert attempt.parent_span_id == ingest.span_id
    assert attempt.attributes["hookline.attempt"] == 1
    assert attempt.attributes["http.response.status_code"] == 200
    assert attempt.attributes["url.full"] == endpoint.url
    # Exported by two processes: the API (role all) and its dispatcher (role worker).
    assert ingest.resource["hookline.role"] == "all"
    assert attempt.resource["hookline.role"] == "worker"
    assert ingest.resource["service.name"] == attempt.resource["service.name"] == "hookline"
    _version, trace_id, parent_id, _flags = request.headers["traceparent"].split("-")
    assert (trace_id, parent_id) == (PRODUCER_TRACE, attempt.span_id)


def test_with_tracing_off_nothing_is_exported_and_no_traceparent_is_sent(
    tmp_path: Path, database_url: str | None, receiver: Receiver, collector: Collector
) -> None:
    hookline = server(
        tmp_path,
        database_url,
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_BSP_SCHEDULE_DELAY="50",
    ).start()
    try:
        with hookline.api() as api:
            ws = api.workspace()
            endpoint = receiver.endpoint()
            api.webhook(ws, endpoint.url)
            event = api.post(
                f"/v1/workspaces/{ws}/events",
                {"type": "trace.me", "data": {}},
                status=202,
                headers={"traceparent": f"00-{PRODUCER_TRACE}-{PRODUCER_SPAN}-01"},
            )
            (delivery,) = api.deliveries_of(event["id"])
            assert api.settled(delivery["id"])["status"] == "succeeded"
    finally:
        # A stop exports whatever a tracing process still holds: after it, nothing can come.
        assert hookline.terminate() == 0, hookline.output()
    assert "Tracing:" not in hookline.output()
    (request,) = endpoint.requests
    assert "traceparent" not in request.headers
    assert "tracestate" not in request.headers
    assert collector.requests == 0
