"""Dispatch rate with 10k vs 1M deliveries already stored.

One deployment: 8 paused webhooks, then old finished work is written straight
into the database (``bench.prefill``, server stopped) up to ``small`` stored
deliveries; ``measure`` new events are ingested and drained; then the fill
goes on up to ``large`` (bounded by ``budget_s``) and the same drain runs again.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bench import prefill
from bench.api import Api, Receiver
from bench.deploy import Deployment
from bench.scenarios.throughput import PATHS, drain, setup_paused


async def scale(
    session: aiohttp.ClientSession,
    deploy: Deployment,
    receiver: str,
    *,
    small: int = 10_000,
    large: int = 1_000_000,
    measure: int = 15_000,
    budget_s: float = 180.0,
) -> dict[str, Any]:
    api = Api(session, deploy.base)
    ws, hooks, _ = await setup_paused(api, receiver)
    out: dict[str, Any] = {"measure": measure, "budget_s": budget_s, "target_large": large}
    for label, size, budget in (("small", small, budget_s), ("large", large, budget_s)):
        deploy.stop_processes()
        stored, fill_s = prefill.fill(deploy, ws=ws, hooks=hooks, upto=size, budget_s=budget)
        deploy.restart()
        api = Api(session, deploy.base)
        rcv = Receiver(session, receiver)
        ingest_s = await api.ingest(ws, measure, lambda k: f"bench.{k % PATHS}")
        earlier = measure if label == "large" else 0
        result = await drain(deploy, api, rcv, hooks, measure, timeout=120, base=earlier)
        await api.set_status(hooks, "paused")
        out[label] = {
            "prefilled": stored,
            "stored_before": stored + earlier,
            "fill_s": fill_s,
            "ingest_s": ingest_s,
            **result,
        }
    return out
