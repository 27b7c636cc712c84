"""Ingest: events/s accepted through the single and the batch endpoint, 1 webhook subscribed.

The webhook is paused, so every accepted event writes its event row and one
``held`` delivery and nothing is sent meanwhile: this measures the API and the
insert path alone. Each variant runs for a fixed time with a fixed number of
requests in flight; the client (aiohttp, in the bench process) shares the cores.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from bench.api import Api, event_data
from bench.deploy import Deployment
from bench.stats import spread_of

VARIANTS = (
    # (label, events per request, requests in flight)
    ("single", 1, 16),
    ("batch of 100", 100, 4),
    ("batch of 1000", 1000, 2),
)


async def _run_variant(
    api: Api, ws: str, per_request: int, inflight: int, seconds: float
) -> dict[str, Any]:
    accepted = 0
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    counter = 0

    async def worker() -> None:
        nonlocal accepted, counter
        while time.monotonic() < deadline:
            base = counter
            counter += per_request
            started = time.monotonic()
            if per_request == 1:
                await api.single(ws, {"type": "bench.ingest", "data": event_data(base)})
            else:
                await api.batch(
                    ws,
                    [
                        {"type": "bench.ingest", "data": event_data(base + i)}
                        for i in range(per_request)
                    ],
                )
            latencies.append(time.monotonic() - started)
            accepted += per_request

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(inflight)))
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "events": accepted,
        "seconds": elapsed,
        "rate": accepted / elapsed,
        "requests": len(latencies),
        "request_p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
    }


async def ingest(
    session: aiohttp.ClientSession, deploy: Deployment, receiver: str, *, seconds: float = 5.0
) -> dict[str, Any]:
    api = Api(session, deploy.base)
    ws = await api.workspace()
    await api.webhook(ws, f"{receiver}/ok/ingest", ["*"], status="paused")
    # A short warm-up so the first variant does not pay for imports and caches.
    await _run_variant(api, ws, 10, 2, 0.5)
    out: dict[str, Any] = {}
    for label, per_request, inflight in VARIANTS:
        out[label] = {
            "per_request": per_request,
            "inflight": inflight,
            **await _run_variant(api, ws, per_request, inflight, seconds),
        }
    ((held,),) = await asyncio.to_thread(deploy.sql, "SELECT count(*) FROM deliveries")
    out["deliveries_stored"] = int(held)
    out["events_accepted"] = sum(v["events"] for v in out.values() if isinstance(v, dict))
    return out


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each variant's events/s and median request over the runs (one deployment each)."""
    out: dict[str, Any] = {"runs": runs}
    for label, per_request, inflight in VARIANTS:
        out[label] = {
            "per_request": per_request,
            "inflight": inflight,
            "rate": spread_of(runs, label, "rate"),
            "request_p50_ms": spread_of(runs, label, "request_p50_ms"),
        }
    out["deliveries_stored"] = sum(r["deliveries_stored"] for r in runs)
    out["events_accepted"] = sum(r["events_accepted"] for r in runs)
    return out
