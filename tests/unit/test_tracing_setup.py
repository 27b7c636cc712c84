"""``tracing.setup``: what it installs for each mode, and the resource it names itself by."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from hookline import tracing


@pytest.fixture(autouse=True)
def stopped() -> Iterator[None]:
    yield
    tracing.shutdown()


def resource() -> dict[str, object]:
    provider = tracing._state.provider
    assert provider is not None
    return dict(provider.resource.attributes)


def test_off_installs_nothing() -> None:
    tracing.setup("off", "all")
    assert not tracing.enabled()
    assert tracing.start("hookline.ingest").is_recording() is False
    assert tracing.context_of(tracing.start("hookline.ingest")) is None


def test_otlp_names_the_service_hookline_and_the_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    tracing.setup("otlp", "worker")
    assert tracing.enabled()
    assert resource()["service.name"] == "hookline"
    assert resource()["hookline.role"] == "worker"


def test_otel_service_name_and_resource_attributes_are_honoured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "webhooks-eu")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod")
    tracing.setup("otlp", "api")
    assert resource()["service.name"] == "webhooks-eu"
    assert resource()["deployment.environment"] == "prod"
    assert resource()["hookline.role"] == "api"


def test_a_started_span_has_a_w3c_context_to_store() -> None:
    tracing.install(TracerProvider())
    span = tracing.start("hookline.ingest")
    stored = tracing.context_of(span)
    span.end()
    assert stored is not None
    version, trace_id, span_id, flags = stored.split("-")
    ctx = span.get_span_context()
    assert (version, trace_id, span_id) == ("00", f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}")
    assert int(flags, 16) & 1


@pytest.mark.parametrize(
    ("env", "endpoint"),
    [
        ({}, "http://localhost:4318/v1/traces"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318/"}, "http://otel:4318/v1/traces"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://x.example/t"}, "https://x.example/t"),
    ],
)
def test_the_banner_names_the_endpoint_the_sdk_uses(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], endpoint: str
) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert tracing.traces_endpoint() == endpoint
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    assert OTLPSpanExporter()._endpoint == endpoint
