"""Fairness between workspaces: one workspace's events while another's endpoints hang.

SQLite all-in-one. Workspace A has ``hooks`` webhooks whose endpoint never
answers, each with ``per_hook`` deliveries queued (created paused, then resumed
together) and a ``timeout`` s attempt timeout, so A's attempts hold as many slots
as A's share and each webhook's window allow (a hanging webhook's window stays small). Once the receiver's count of hanging requests has reached the
server's slots (``worker_concurrency`` per dispatcher process) or stopped growing, workspace B sends ``events`` events, one
every ``1 / rate`` s, to one healthy webhook; each one's sent → received time is
taken as in the latency run. An event still missing ``wait`` s after the last
was sent counts with the time it had waited so far, a lower bound.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

import aiohttp

from bench.api import Api, Receiver, event_data
from bench.deploy import Deployment
from bench.scenarios.throughput import setup_paused
from bench.stats import percentiles, spread_of

HOOKS = 40
PER_HOOK = 50
TIMEOUT_S = 10
SHARE_ENV = "HOOKLINE_WORKSPACE_SHARE"


def share_setting() -> str:
    """The workspace share the server runs with: the bench's own environment passes it on
    (``env``), else the setting's default, if this version of Hookline has the setting."""
    from hookline.settings import Settings

    field = Settings.model_fields.get("workspace_share")
    if field is None:
        return "not a setting of this Hookline"
    if os.environ.get(SHARE_ENV):
        return os.environ[SHARE_ENV]
    return f"{field.default} (default)"


def env() -> dict[str, str]:
    """The deployment's settings: the share only if the bench was given one; a 1 s shutdown
    grace, so stopping does not wait out A's hanging attempts (it is not measured)."""
    out = {"HOOKLINE_SHUTDOWN_GRACE": "1"}
    if os.environ.get(SHARE_ENV):
        out[SHARE_ENV] = os.environ[SHARE_ENV]
    return out


async def _hung_settled(
    rcv: Receiver, expected: int, *, timeout: float = 20.0
) -> tuple[int, float]:
    """Until ``expected`` requests hang at the receiver, or their count has not grown for
    1 s (a share of the slots may be all A gets); returns the count and when it last grew."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while True:
        hung = int((await rcv.stats())["hung"])
        now = time.monotonic()
        if hung != last:
            last, since = hung, now
        if hung >= expected or (hung > 0 and now - since >= 1.0) or now >= deadline:
            return hung, since
        await asyncio.sleep(0.05)


async def noisy(
    session: aiohttp.ClientSession,
    deploy: Deployment,
    receiver: str,
    *,
    hooks: int = HOOKS,
    per_hook: int = PER_HOOK,
    events: int = 20,
    rate: float = 5.0,
    wait: float = 15.0,
) -> dict[str, Any]:
    from hookline.settings import Settings

    per_process = int(Settings.model_fields["worker_concurrency"].default)
    slots = per_process * int(deploy.env["HOOKLINE_WORKERS"])
    api, rcv = Api(session, deploy.base), Receiver(session, receiver)
    ws_a, _, hanging = await setup_paused(
        api, receiver, paths=0, hang=hooks, retryPolicy={"timeout": TIMEOUT_S}
    )
    await api.ingest(ws_a, hooks * per_hook, lambda k: f"bench.{k % hooks}")
    ws_b = await api.workspace()
    await api.webhook(ws_b, f"{receiver}/ok/noisy", ["*"])
    await rcv.reset()
    started = time.monotonic()
    await api.set_status(hanging, "active")
    hung, filled = await _hung_settled(rcv, min(slots, hooks * per_hook))
    await rcv.record(True)
    run = uuid.uuid4().hex[:8]
    sent: dict[str, float] = {}

    async def one(event_id: str) -> None:
        sent[event_id] = time.monotonic()
        await api.single(ws_b, {"id": event_id, "type": "bench.noisy", "data": event_data(0)})

    ids = [f"noisy-{run}-{i}" for i in range(events)]
    t0 = time.monotonic()
    tasks = []
    for i, event_id in enumerate(ids):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(event_id)))
    await asyncio.gather(*tasks)
    await rcv.wait_count(events, timeout=wait, group="ok", interval=0.02)
    waited_until = time.monotonic()
    arrivals = dict(await rcv.arrivals())
    stats = await rcv.stats()
    await rcv.record(False)
    times = [1000 * (arrivals.get(i, waited_until) - sent[i]) for i in ids]
    return {
        "events": events,
        "rate": rate,
        "received": sum(1 for i in ids if i in arrivals),
        "wait_s": wait,
        "sent_to_received_ms": percentiles(times),
        "times_ms": [round(t, 1) for t in times],
        "hooks": hooks,
        "per_hook": per_hook,
        "timeout_s": TIMEOUT_S,
        "slots": slots,
        "hung_before": hung,
        "hung_after": stats["hung"],
        "filled_s": filled - started,
        "share": share_setting(),
    }


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """B's median, p95 and worst sent → received of each run, as spreads over the runs."""
    out: dict[str, Any] = {
        "runs": runs,
        "events": sum(r["events"] for r in runs),
        "received": sum(r["received"] for r in runs),
        "hung_before": spread_of(runs, "hung_before"),
        "filled_s": spread_of(runs, "filled_s"),
    }
    for q in ("p50", "p95", "max"):
        out[q] = spread_of(runs, "sent_to_received_ms", q)
    for key in ("hooks", "per_hook", "timeout_s", "slots", "rate", "wait_s", "share"):
        out[key] = runs[0][key]
    return out
