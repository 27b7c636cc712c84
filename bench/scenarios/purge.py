"""Retention while delivering: the largest gap between deliveries while a big purge runs.

The deployment keeps data for a day (``HOOKLINE_RETENTION_DAYS=1``) and purges every
few seconds. With the server stopped, ``bench.prefill`` writes ``expired`` finished
deliveries (event, delivery, one attempt each) two days old; on PostgreSQL their
day's partition of ``attempts`` is created first, as the purge of a running system
would have made it. The server starts again and events go out at a steady ``rate``
(open loop, one request each) through one webhook while the dispatcher's purge
removes the expired work. Reported: the largest gap between consecutive arrivals
at the receiver (overall and while the purge ran), how long the purge took, and
sent → received latency.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from typing import Any

import aiohttp

from bench import prefill
from bench.api import Api, Receiver, event_data
from bench.deploy import Deployment
from bench.scenarios.latency import percentiles
from hookline.store.postgres.partitions import create_sql, day_start

ENV = {
    "HOOKLINE_RETENTION_DAYS": "1",
    "HOOKLINE_PURGE_INTERVAL": "5",
    # Housekeeping runs every lease/3 seconds: the first purge starts ~5 s after the restart.
    "HOOKLINE_LEASE_SECONDS": "15",
}
AGE_MS = 2 * 86_400_000
WINDOW_S = 5  # latency is reported per window of this many seconds of the stream
# Prefilled events and attempts still stored: the purge starts with either.
_LEFT = (
    f"SELECT (SELECT count(*) FROM events WHERE id < 'evt_{prefill.CUTOFF}') "
    f"+ (SELECT count(*) FROM attempts WHERE id < 'att_{prefill.CUTOFF}')"
)


async def purge(
    session: aiohttp.ClientSession,
    deploy: Deployment,
    receiver: str,
    *,
    expired: int = 1_000_000,
    rate: float = 200.0,
    budget_s: float = 180.0,
    timeout: float = 600.0,
) -> dict[str, Any]:
    api = Api(session, deploy.base)
    ws = await api.workspace()
    hook = await api.webhook(ws, f"{receiver}/ok/purge", ["*"])
    deploy.stop_processes()
    at = int(time.time() * 1000) - AGE_MS
    if deploy.kind == "postgres":
        deploy.sql(create_sql(day_start(at)))
    stored, fill_s = prefill.fill(
        deploy, ws=ws, hooks=[hook], upto=expired, budget_s=budget_s, at=at
    )
    deploy.restart()
    api, rcv = Api(session, deploy.base), Receiver(session, receiver)
    await rcv.reset()
    await rcv.record(True)

    run = uuid.uuid4().hex[:8]
    sent: dict[str, float] = {}
    failures = 0
    stop = asyncio.Event()

    async def one(event_id: str) -> None:
        nonlocal failures
        sent[event_id] = time.monotonic()
        try:
            await api.single(ws, {"id": event_id, "type": "bench.purge", "data": event_data(0)})
        except (aiohttp.ClientError, RuntimeError, TimeoutError):
            failures += 1

    async def stream() -> None:
        tasks = []
        t0 = time.monotonic()
        i = 0
        while not stop.is_set():
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(f"purge-{run}-{i}")))
            i += 1
        await asyncio.gather(*tasks)

    sender = asyncio.create_task(stream())
    began, ended = await _watch_purge(deploy, stored, timeout=timeout)
    await asyncio.sleep(2.0)  # a little steady delivery after the purge, too
    stop.set()
    await sender
    await rcv.wait_count(len(sent) - failures, timeout=30)
    arrivals = dict(await rcv.arrivals())
    await rcv.record(False)
    times = sorted(t for k, t in arrivals.items() if k in sent)
    gaps = list(itertools.pairwise(times))
    start, end = began or float("inf"), ended or float("inf")
    during = [b - a for a, b in gaps if b >= start and a <= end]
    e2e = [1000 * (arrivals[k] - sent[k]) for k in sent if k in arrivals]
    first = min(sent.values(), default=0.0)
    windows: dict[int, list[float]] = {}
    for k, t in sent.items():
        if k in arrivals:
            windows.setdefault(int((t - first) // WINDOW_S), []).append(1000 * (arrivals[k] - t))
    return {
        "expired": stored,
        "fill_s": fill_s,
        "rate": rate,
        "events": len(sent),
        "received": len(times),
        "failures": failures,
        "purge_s": None if began is None or ended is None else ended - began,
        "purge_finished": ended is not None,
        "max_gap_ms": 1000 * max((b - a for a, b in gaps), default=0.0),
        "max_gap_during_purge_ms": 1000 * max(during, default=0.0),
        "sent_to_received_ms": percentiles(e2e),
        "purge_from_s": None if began is None else began - first,
        "window_s": WINDOW_S,
        "p99_by_window_ms": [round(percentiles(v)["p99"], 1) for _, v in sorted(windows.items())],
    }


async def _watch_purge(
    deploy: Deployment, stored: int, *, timeout: float, every: float = 0.5
) -> tuple[float | None, float | None]:
    """When the prefilled work began to go and when the last of it went (monotonic; None: not seen)."""
    began = ended = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ((left,),) = await asyncio.to_thread(deploy.sql, _LEFT)
        now = time.monotonic()
        if began is None and int(left) < 2 * stored:
            began = now - every
        if int(left) == 0:
            ended = now
            break
        await asyncio.sleep(every)
    return began, ended
