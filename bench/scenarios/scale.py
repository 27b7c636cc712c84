"""Dispatch rate with 10k vs 1M deliveries already stored.

One deployment: 8 paused webhooks, then old finished work is written straight
into the database (``bench.prefill``, server stopped) up to ``small`` stored
deliveries; ``measure`` new events are ingested and drained, ``repeats`` times;
then the fill goes on up to ``large`` (bounded by ``budget_s``) and the same
drains run again. The i-th drains at the two sizes make the i-th pair of the change.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from bench import prefill
from bench.api import Api, Receiver
from bench.deploy import Deployment
from bench.scenarios.throughput import PATHS, drain, setup_paused
from bench.stats import spread


async def scale(
    session: aiohttp.ClientSession,
    deploy: Deployment,
    receiver: str,
    *,
    small: int = 10_000,
    large: int = 1_000_000,
    measure: int = 10_000,
    repeats: int = 3,
    budget_s: float = 180.0,
) -> dict[str, Any]:
    api = Api(session, deploy.base)
    ws, hooks, _ = await setup_paused(api, receiver)
    out: dict[str, Any] = {"measure": measure, "budget_s": budget_s, "target_large": large}
    earlier = 0  # deliveries (and attempts) of this deployment's earlier drains
    for label, size in (("small", small), ("large", large)):
        deploy.stop_processes()
        stored, fill_s = prefill.fill(deploy, ws=ws, hooks=hooks, upto=size, budget_s=budget_s)
        deploy.restart()
        api = Api(session, deploy.base)
        rcv = Receiver(session, receiver)
        stored_before = stored + earlier
        drains = []
        for _ in range(repeats):
            ingest_s = await api.ingest(ws, measure, lambda k: f"bench.{k % PATHS}")
            result = await drain(deploy, api, rcv, hooks, measure, timeout=120, base=earlier)
            await api.set_status(hooks, "paused")
            drains.append({"ingest_s": ingest_s, **result})
            earlier += measure
        out[label] = {
            "prefilled": stored,
            "stored_before": stored_before,
            "fill_s": fill_s,
            "drains": drains,
            "rate": spread(d["rate"] for d in drains),
            "all_logged": all(d.get("all_logged") for d in drains),
        }
    out["change"] = spread(
        lg["rate"] / sm["rate"] - 1
        for sm, lg in zip(out["small"]["drains"], out["large"]["drains"], strict=True)
    )
    return out
