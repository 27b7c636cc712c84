"""Sustained delivery rate: the bare client (the limit) and Hookline, to the same receiver.

Hookline's events are ingested in advance through the batch endpoint while its
webhooks are paused (their deliveries wait as ``held``); the clock starts when
the webhooks are resumed and stops when the receiver has every delivery *and*
the database holds one attempt per delivery and every delivery is succeeded.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from typing import Any

import aiohttp

from bench.api import Api, Receiver, poll
from bench.deploy import Deployment
from bench.procs import PY, ROOT, CpuMeter

PATHS = 8  # webhooks, each with its own event type and URL on the receiver


def run_limit(receiver_base: str, n: int, concurrency: int) -> dict[str, Any]:
    meter = CpuMeter({}).start()
    out = subprocess.run(
        [
            PY,
            "-m",
            "bench.limit",
            "--base",
            receiver_base,
            "--paths",
            str(PATHS),
            "--n",
            str(n),
            "--concurrency",
            str(concurrency),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench.limit failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["cpu"] = {"client": result.pop("cpu_s"), **meter.stop()}
    return result


async def setup_paused(
    api: Api, receiver: str, *, paths: int = PATHS, hang: int = 0, **fields: Any
) -> tuple[str, list[str], list[str]]:
    """A workspace with ``paths`` healthy and ``hang`` hanging webhooks, all paused."""
    ws = await api.workspace()
    ok = [
        await api.webhook(ws, f"{receiver}/ok/{i}", [f"bench.{i}"], status="paused", **fields)
        for i in range(paths)
    ]
    hung = [
        await api.webhook(
            ws, f"{receiver}/hang/{i}", [f"bench.{paths + i}"], status="paused", **fields
        )
        for i in range(hang)
    ]
    return ws, ok, hung


async def drain(
    deploy: Deployment,
    api: Api,
    rcv: Receiver,
    hooks: list[str],
    n: int,
    *,
    timeout: float,
    group: str | None = None,
    verify: bool = True,
    exact: bool = True,
    base: int = 0,
) -> dict[str, Any]:
    """Resume ``hooks`` and time until ``n`` deliveries arrived and, with ``verify``, were logged:
    ``n`` succeeded deliveries and (``exact``) ``n`` attempts, no more, no fewer, on top of the
    ``base`` of each that an earlier drain left."""
    await rcv.reset()
    meter = deploy.cpu_meter().start()
    t0 = time.monotonic()
    await api.set_status(hooks, "active")
    stats = await rcv.wait_count(n, timeout=timeout, group=group, interval=0.02)
    got = stats["total"] if group is None else stats["groups"].get(group, 0)
    received_s = (stats["last"] or t0) - t0
    result: dict[str, Any] = {
        "n": n,
        "received": got,
        "received_s": received_s,
        "received_rate": got / received_s if received_s > 0 else 0.0,
    }
    if verify:
        (attempts, done), ok = await poll(
            lambda: asyncio.to_thread(deploy.logged),
            lambda v: v[1] >= base + n and (v[0] >= base + n or not exact),
            timeout=max(10.0, timeout / 2),
            interval=0.02,
        )
        logged_s = time.monotonic() - t0
        attempts, done = attempts - base, done - base
        ok = ok and (attempts == n or not exact)
        result.update(
            attempts=attempts,
            succeeded=done,
            all_logged=ok,
            logged_s=logged_s,
            rate=n / logged_s if ok else done / logged_s,
        )
    result["cpu"] = meter.stop()
    return result


async def hookline_throughput(
    session: aiohttp.ClientSession, deploy: Deployment, receiver: str, n: int
) -> dict[str, Any]:
    api, rcv = Api(session, deploy.base), Receiver(session, receiver)
    _ws, hooks, _ = await setup_paused(api, receiver)
    ingest_s = await api.ingest(_ws, n, lambda k: f"bench.{k % PATHS}")
    result = await drain(deploy, api, rcv, hooks, n, timeout=120)
    result["ingest_s"] = ingest_s
    return result


SUMMED = (
    "n",
    "attempts",
    "succeeded",
    "received",
    "seconds",
    "received_s",
    "logged_s",
    "ingest_s",
    "errors",
)


def merge_runs(runs: list[dict[str, Any]], clock: str) -> dict[str, Any]:
    """Repeated runs as one: counts and times added, ``rate`` = all items / all ``clock`` time,
    each run's rate kept in ``rates``, CPU seconds added."""
    out: dict[str, Any] = {k: sum(r[k] for r in runs) for k in SUMMED if k in runs[0]}
    out["rate"] = out["n"] / out[clock]
    out["rates"] = [r["rate"] for r in runs]
    if "all_logged" in runs[0]:
        out["all_logged"] = all(r["all_logged"] for r in runs)
    cpu: dict[str, float] = {}
    for r in runs:
        for k, v in r.get("cpu", {}).items():
            cpu[k] = cpu.get(k, 0.0) + v
    out["cpu"] = cpu
    out["runs"] = len(runs)
    return out
