"""The operations endpoints: /healthz, /readyz and /metrics in Prometheus text."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families
from support.app import Api


def samples(text: str) -> dict[str, float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


async def test_metrics_count_ingested_events_and_read_the_queue(api: Api) -> None:
    ws = await api.workspace(name="Metrics")
    await api.webhook(ws["id"], events=["*"])
    await api.event(ws["id"], "user.created", {"n": 1}, id="m-1")
    repeat = await api.post(
        f"/v1/workspaces/{ws['id']}/events", json={"type": "user.created", "data": {}, "id": "m-1"}
    )
    assert repeat.status_code == 200  # an idempotent repeat is not counted
    await api.event(ws["id"], "user.created", {"n": 2})

    response = await api.client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values = samples(response.text)
    assert values["hookline_events_ingested_total"] == 2
    assert values["hookline_queue_depth{status=pending}"] == 2
    assert values["hookline_queue_depth{status=held}"] == 0
    assert values["hookline_oldest_pending_age_seconds"] >= 0
    assert values["hookline_deliveries_stuck"] == 0
    assert re.search(r"^# TYPE hookline_attempt_duration_seconds histogram$", response.text, re.M)


async def test_metrics_report_delivery_outcomes_after_attempts(api: Api) -> None:
    ws = await api.workspace(name="Outcomes")
    await api.webhook(ws["id"], events=["*"])
    await api.event(ws["id"], "user.created", {"n": 1})
    await api.settle()

    values = samples((await api.client.get("/metrics")).text)

    assert values["hookline_queue_depth{status=pending}"] == 0
    assert values["hookline_oldest_pending_age_seconds"] == 0


async def test_health_and_readiness(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    assert (await api.client.get("/readyz")).json() == {"status": "ok"}
