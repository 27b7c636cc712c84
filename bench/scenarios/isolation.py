"""Isolation: the rate to healthy endpoints while 20 % of the endpoints hang until timeout.

Two fresh deployments run the same healthy work, 8 webhooks x ``per_hook``
deliveries: alone, and beside 2 more webhooks (20 % of 10) whose endpoint never
answers, each with as many deliveries and a 2 s attempt timeout. Every
webhook's deliveries are queued while paused; all are resumed at once and the
clock stops when every healthy delivery has arrived and is logged as succeeded.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bench.api import Api, Receiver
from bench.deploy import Deployment
from bench.scenarios.throughput import PATHS, drain, setup_paused

HANG = 2
TIMEOUT_S = 2


async def healthy_rate(
    session: aiohttp.ClientSession, deploy: Deployment, receiver: str, *, per_hook: int, hang: int
) -> dict[str, Any]:
    api, rcv = Api(session, deploy.base), Receiver(session, receiver)
    ws, ok, hung = await setup_paused(api, receiver, hang=hang, retryPolicy={"timeout": TIMEOUT_S})
    hooks = PATHS + hang
    await api.ingest(ws, per_hook * hooks, lambda k: f"bench.{k % hooks}")
    n = per_hook * PATHS
    result = await drain(deploy, api, rcv, ok + hung, n, timeout=120, group="ok", exact=False)
    stats = await rcv.stats()
    result["hung_requests"] = stats["hung"]
    result["hang_webhooks"] = hang
    return result
