"""Memory: the server process's RSS with 100k queued deliveries, and while it drains them.

The throughput run's 8 webhooks, paused, while 100k events are ingested
through the batch endpoint (their deliveries wait as ``held``); then they are
resumed and the queue drains to the receiver. RSS and peak RSS (VmRSS, VmHWM) come from /proc.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from bench.api import Api, Receiver
from bench.deploy import Deployment
from bench.procs import rss_peak_mb
from bench.scenarios.throughput import PATHS, drain, setup_paused


async def memory(
    session: aiohttp.ClientSession,
    deploy: Deployment,
    receiver: str,
    *,
    n: int = 100_000,
    drain_timeout: float = 90.0,
) -> dict[str, Any]:
    api, rcv = Api(session, deploy.base), Receiver(session, receiver)
    pid = deploy.server_pid
    ws, hooks, _ = await setup_paused(api, receiver)
    idle, _ = rss_peak_mb(pid)
    ingest_s = await api.ingest(ws, n, lambda k: f"bench.{k % PATHS}", size=1000, parallel=2)
    await asyncio.sleep(1.0)
    queued, peak_ingest = rss_peak_mb(pid)
    ((held,),) = await asyncio.to_thread(
        deploy.sql, "SELECT count(*) FROM deliveries WHERE status = 'held'"
    )
    started = time.monotonic()
    drained = await drain(deploy, api, rcv, hooks, n, timeout=drain_timeout)
    after, peak_drain = rss_peak_mb(pid)
    return {
        "n": n,
        "held": int(held),
        "ingest_s": ingest_s,
        "ingest_rate": n / ingest_s,
        "rss_idle_mb": idle,
        "rss_queued_mb": queued,
        "peak_while_queuing_mb": peak_ingest,
        "peak_while_draining_mb": peak_drain,
        "rss_after_mb": after,
        "drain": drained,
        "drain_wall_s": time.monotonic() - started,
    }
