"""The Python peer: django-webhook + a Celery worker (local Redis) to the same receiver.

Like Hookline's runs, the events are enqueued in advance (``bench.peer.enqueue``:
one saved ``BenchEvent`` each, which django-webhook turns into a ``fire_webhook``
task on Redis); then the worker starts and the rate is taken from the first to
the last arrival at the receiver (the worker's start-up is not counted). At the
end every ``WebhookEvent`` row (django-webhook's attempt log) must be ``SUCCESS``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.api import Receiver
from bench.procs import PY, ROOT, Proc
from bench.stats import spread_of

REDIS_DB = 14


def _redis(*args: str) -> str:
    out = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-n", str(REDIS_DB), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if out.returncode != 0:
        raise RuntimeError(f"redis-cli {args}: {out.stderr}")
    return out.stdout.strip()


async def peer(
    session: aiohttp.ClientSession,
    run_dir: Path,
    receiver: str,
    *,
    n: int,
    pool: str = "prefork",
    concurrency: int = 2,
    timeout: float = 90,
) -> dict[str, Any]:
    if _redis("PING") != "PONG":
        raise RuntimeError("Redis at 127.0.0.1:6379 does not answer")
    work = run_dir / f"peer-{uuid.uuid4().hex[:6]}"
    work.mkdir()
    queue = f"hookline-bench-{uuid.uuid4().hex[:8]}"
    env = {
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "bench.peer.settings",
        "BENCH_PEER_DB": str(work / "peer.db"),
        "BENCH_PEER_QUEUE": queue,
        "BENCH_PEER_BROKER": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "PYTHONWARNINGS": "ignore",
    }
    rcv = Receiver(session, receiver)
    try:
        enq = await asyncio.to_thread(_enqueue, env, f"{receiver}/ok/peer", n)
        await rcv.reset()
        worker = Proc(
            "celery-worker",
            [
                PY,
                "-m",
                "celery",
                "-A",
                "bench.peer.celery_app",
                "worker",
                "--pool",
                pool,
                "--concurrency",
                str(concurrency),
                "-Q",
                queue,
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "WARNING",
            ],
            log=work / "celery.log",
            env=env,
        )
        try:
            stats = await rcv.wait_count(n, timeout=timeout, interval=0.05)
            await asyncio.sleep(1.0)  # the last tasks mark their WebhookEvent after the response
        finally:
            worker.stop()
        got = stats["total"]
        span = (stats["last"] or 0) - (stats["first"] or 0)
        logged = _logged(work / "peer.db")
        return {
            "n": n,
            "received": got,
            "first_to_last_s": span,
            "rate": (got - 1) / span if span > 0 else 0.0,
            "pool": pool,
            "concurrency": concurrency,
            "logged": logged,
            "complete": got >= n,
            **enq,
        }
    finally:
        # Redis db 14 is the bench's own; its kombu bookkeeping goes too.
        for key in (
            queue,
            f"_kombu.binding.{queue}",
            f"_kombu.binding_permanent.{queue}",
            "_kombu.binding_deadlines",
        ):
            _redis("DEL", key)


def _enqueue(env: dict[str, str], url: str, n: int) -> dict[str, Any]:
    full = {**os.environ, **env}
    out = subprocess.run(
        [PY, "-m", "bench.peer.enqueue", "--url", url, "--n", str(n)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=full,
    )
    if out.returncode != 0:
        raise RuntimeError(f"peer enqueue failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _logged(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute(
            "SELECT status, count(*) FROM django_webhook_webhookevent GROUP BY status"
        ).fetchall()
    finally:
        conn.close()
    return {status: count for status, count in rows}


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One pool setting's runs: the rates' spread, counts added, the logs' statuses added."""
    logged: dict[str, int] = {}
    for r in runs:
        for status, count in r["logged"].items():
            logged[status] = logged.get(status, 0) + count
    return {
        "runs": runs,
        "rate": spread_of(runs, "rate"),
        "enqueue_rate": spread_of(runs, "enqueue_rate"),
        "first_to_last_s": spread_of(runs, "first_to_last_s"),
        "n": sum(r["n"] for r in runs),
        "received": sum(r["received"] for r in runs),
        "logged": logged,
        "complete": all(r["complete"] for r in runs),
    }
