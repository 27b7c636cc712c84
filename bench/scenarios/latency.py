"""Latency: event sent → received at the receiver, at a steady rate, open loop.

Events go out through the single endpoint on a fixed schedule (``rate`` per
second, each in its own task, whether or not earlier ones were answered), each
carrying its send time in ``data.sentAt`` and its own id. The receiver notes
every arrival's time (``time.monotonic``, one clock for all processes here)
under the ``X-Hookline-Delivery`` id. Reported: sent → received (the honest end
to end), accepted (202) → received, and the ingest request itself.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp

from bench.api import Api, Receiver, event_data
from bench.deploy import Deployment
from bench.stats import percentiles, spread_of

MEASURES = ("sent_to_received_ms", "accepted_to_received_ms", "ingest_request_ms")


async def latency(
    session: aiohttp.ClientSession,
    deploy: Deployment,
    receiver: str,
    *,
    rate: float = 200.0,
    seconds: float = 10.0,
    warmup: float = 1.0,
) -> dict[str, Any]:
    api, rcv = Api(session, deploy.base), Receiver(session, receiver)
    ws = await api.workspace()
    await api.webhook(ws, f"{receiver}/ok/latency", ["*"])
    run = uuid.uuid4().hex[:8]
    sent: dict[str, float] = {}
    accepted: dict[str, float] = {}
    failures = 0

    async def one(event_id: str) -> None:
        nonlocal failures
        now = time.monotonic()
        sent[event_id] = now
        try:
            await api.single(
                ws, {"id": event_id, "type": "bench.latency", "data": event_data(0, sentAt=now)}
            )
            accepted[event_id] = time.monotonic()
        except (aiohttp.ClientError, RuntimeError):
            failures += 1

    await rcv.reset()
    await rcv.record(True)
    total = int(rate * (seconds + warmup))
    measured_from = int(rate * warmup)
    tasks = []
    meter = deploy.cpu_meter().start()
    client_cpu = time.process_time()  # this process alone: the sending client's share
    t0 = time.monotonic()
    for i in range(total):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(f"lat-{run}-{i}")))
    behind = time.monotonic() - (t0 + (total - 1) / rate)
    await asyncio.gather(*tasks)
    await rcv.wait_count(total, timeout=15)
    cpu = {**meter.stop(), "bench client": round(time.process_time() - client_cpu, 3)}
    cpu_window = time.monotonic() - t0
    arrivals = dict(await rcv.arrivals())
    await rcv.record(False)
    ids = [f"lat-{run}-{i}" for i in range(measured_from, total)]
    e2e = [1000 * (arrivals[i] - sent[i]) for i in ids if i in arrivals]
    after_202 = [1000 * (arrivals[i] - accepted[i]) for i in ids if i in arrivals and i in accepted]
    request = [1000 * (accepted[i] - sent[i]) for i in ids if i in accepted]
    by_second: dict[int, list[float]] = {}
    for key in ids:
        if key in arrivals:
            second = int(sent[key] - t0 - warmup)
            by_second.setdefault(second, []).append(1000 * (arrivals[key] - sent[key]))
    return {
        "rate": rate,
        "seconds": seconds,
        "events": len(ids),
        "sent": total,
        "received": sum(1 for i in ids if i in arrivals),
        "failures": failures,
        "schedule_lag_s": behind,
        "sent_to_received_ms": percentiles(e2e),
        "accepted_to_received_ms": percentiles(after_202),
        "ingest_request_ms": percentiles(request),
        "before_202": sum(1 for x in after_202 if x < 0),
        "cpu": cpu,
        "cpu_window_s": cpu_window,
        "p99_by_second_ms": [round(percentiles(v)["p99"], 1) for _, v in sorted(by_second.items())],
    }


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each measure's p50/p95/p99/max as the spread of the runs' own percentiles."""
    out: dict[str, Any] = {"runs": runs, "rate": runs[0]["rate"], "seconds": runs[0]["seconds"]}
    for key in MEASURES:
        out[key] = {q: spread_of(runs, key, q) for q in ("p50", "p95", "p99", "max")}
        out[key]["n"] = sum(r[key].get("n", 0) for r in runs)
    return out
