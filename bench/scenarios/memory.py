"""Memory: the server's RSS with ``n`` queued deliveries, and while it drains them.

The throughput run's 8 webhooks, paused, while ``n`` events are ingested
through the batch endpoint (their deliveries wait as ``held``); then they are
resumed and the queue drains to the receiver. RSS and peak RSS (VmRSS, VmHWM)
come from /proc, summed over the server's process tree (see ``tree_rss_mb``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from bench.api import Api, Receiver
from bench.deploy import Deployment
from bench.procs import tree_rss_mb
from bench.scenarios.throughput import PATHS, drain, setup_paused
from bench.stats import spread_of


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
    idle = tree_rss_mb(pid)
    pss_peak = [idle["pss_mb"]]

    async def sample_pss() -> None:  # the kernel keeps no peak of PSS: sample it
        while True:
            await asyncio.sleep(0.25)
            pss = await asyncio.to_thread(lambda: tree_rss_mb(pid)["pss_mb"])
            pss_peak[0] = max(pss_peak[0], pss)

    sampler = asyncio.create_task(sample_pss())
    ingest_s = await api.ingest(ws, n, lambda k: f"bench.{k % PATHS}", size=1000, parallel=2)
    await asyncio.sleep(1.0)
    queued = tree_rss_mb(pid)
    ((held,),) = await asyncio.to_thread(
        deploy.sql, "SELECT count(*) FROM deliveries WHERE status = 'held'"
    )
    started = time.monotonic()
    drained = await drain(deploy, api, rcv, hooks, n, timeout=drain_timeout)
    after = tree_rss_mb(pid)
    sampler.cancel()
    return {
        "n": n,
        "held": int(held),
        "ingest_s": ingest_s,
        "ingest_rate": n / ingest_s,
        "processes": after["processes"],
        "rss_idle_mb": idle["rss_mb"],
        "rss_queued_mb": queued["rss_mb"],
        "peak_while_queuing_mb": queued["peak_mb"],
        "peak_while_draining_mb": after["peak_mb"],
        "rss_after_mb": after["rss_mb"],
        "pss_idle_mb": idle["pss_mb"],
        "pss_peak_mb": max(pss_peak[0], after["pss_mb"]),
        "drain": drained,
        "drain_wall_s": time.monotonic() - started,
    }


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The RSS figures and rates over the runs (one fresh deployment each)."""
    out: dict[str, Any] = {
        "runs": runs,
        "n": runs[0]["n"],
        "processes": max(r["processes"] for r in runs),
        "held": spread_of(runs, "held"),
        "ingest_rate": spread_of(runs, "ingest_rate"),
        "drain_rate": spread_of(runs, "drain", "rate"),
        "all_logged": all(r["drain"].get("all_logged") for r in runs),
    }
    for key in (
        "rss_idle_mb",
        "rss_queued_mb",
        "peak_while_queuing_mb",
        "peak_while_draining_mb",
        "rss_after_mb",
        "pss_idle_mb",
        "pss_peak_mb",
    ):
        out[key] = spread_of(runs, key)
    return out
