"""A running server's operations endpoints report what it did (CONTRACT §8)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.polling import poll
from support.receiver import Receiver
from support.server import Api, Hookline

pytestmark = pytest.mark.slow


def metric(base_url: str, name: str, **labels: str) -> float:
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_metrics_count_deliveries_by_outcome_and_time_attempts(
    hookline: Hookline, api: Api, ws: str, receiver: Receiver
) -> None:
    before = metric(hookline.base_url, "hookline_deliveries_total", outcome="succeeded")
    endpoint = receiver.endpoint()
    api.webhook(ws, endpoint.url, events=["*"])
    for n in range(3):
        api.send(ws, "metric.tick", {"n": n})
    endpoint.wait(3)

    poll(
        lambda: metric(hookline.base_url, "hookline_deliveries_total", outcome="succeeded"),
        lambda counted: counted >= before + 3,
        what="three succeeded deliveries counted",
    )
    assert metric(hookline.base_url, "hookline_events_ingested_total") >= 3
    assert metric(hookline.base_url, "hookline_attempt_duration_seconds_count") >= 3
    assert httpx.get(f"{hookline.base_url}/readyz", timeout=5).json() == {"status": "ok"}
