"""The SQLite store's claim and record, alone and next to a busy Python thread.

In the all-in-one server the store's writer thread shares the GIL with the
event loop thread that sends the webhooks. This measures, in this process and
through the store port, what one ``claim_due`` and one ``record_attempts`` of a
typical size cost with the interpreter otherwise idle, and with one other
thread running Python the whole time (the event loop under load does that).
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import threading
import time
from typing import Any

import aiohttp

from bench.api import Api
from bench.deploy import Deployment
from bench.scenarios.throughput import PATHS, setup_paused

BATCH = 56  # about the claim and record sizes the profile run sees
ROUNDS = 25


def _records(claims: list[Any]) -> list[Any]:
    from hookline.domain.models import Attempt
    from hookline.ids import new_id, now_ms
    from hookline.store.port import AttemptRecord

    now = now_ms()
    out = []
    for c in claims:
        attempt = Attempt(
            id=new_id("att"),
            delivery_id=c.delivery_id,
            number=c.attempt,
            started_at=now,
            duration_ms=3.0,
            request={
                "method": "POST",
                "url": c.webhook.url,
                "headers": {"X": "y" * 300},
                "body": c.event.data_json,
            },
            response={"status": 200, "headers": {}, "body": "", "truncated": False},
            error=None,
            outcome="success",
        )
        out.append(
            AttemptRecord(
                attempt=attempt,
                webhook_id=c.webhook.id,
                status="succeeded",
                next_attempt_at=None,
                status_code=200,
                error=None,
                completed_at=now,
            )
        )
    return out


async def storeops(
    session: aiohttp.ClientSession, deploy: Deployment, receiver: str
) -> dict[str, Any]:
    from hookline.data_dir import ensure_encryption_key
    from hookline.ids import now_ms
    from hookline.secrets import SecretBox
    from hookline.settings import Settings
    from hookline.store import open_store

    api = Api(session, deploy.base)
    ws, _hooks, _ = await setup_paused(api, receiver)
    await api.ingest(ws, 3 * ROUNDS * BATCH + 1000, lambda k: f"bench.{k % PATHS}")
    deploy.stop_processes()
    conn = sqlite3.connect(deploy.sqlite_path)
    conn.execute("UPDATE deliveries SET status = 'pending' WHERE status = 'held'")
    conn.commit()
    conn.close()
    settings = Settings(database_url=f"sqlite:///{deploy.sqlite_path}", data_dir=deploy.dir)
    store = open_store(settings, SecretBox(ensure_encryption_key(settings)))
    await store.open()
    stop = threading.Event()

    def spin() -> None:
        n = 0
        while not stop.is_set():
            n += 1

    out: dict[str, Any] = {"batch": BATCH, "rounds": ROUNDS}
    try:
        default_interval = sys.getswitchinterval()
        for label, interval in (
            ("alone", default_interval),
            ("with a busy Python thread", default_interval),
            ("with a busy Python thread, switch interval 0.5 ms", 0.0005),
        ):
            sys.setswitchinterval(interval)
            spinner = threading.Thread(target=spin) if label != "alone" else None
            if spinner:
                spinner.start()
            claim_ms, record_ms = [], []
            for _ in range(ROUNDS):
                t = time.perf_counter()
                claims = await store.claim_due(
                    "bench", limit=BATCH, now=now_ms(), lease_ms=60_000, busy={}, per_webhook=BATCH
                )
                claim_ms.append(1000 * (time.perf_counter() - t))
                records = _records(claims)
                t = time.perf_counter()
                await store.record_attempts("bench", records)
                record_ms.append(1000 * (time.perf_counter() - t))
            stop.set()
            if spinner:
                spinner.join()
            stop.clear()
            out[label] = {
                "claim_ms": statistics.median(claim_ms),
                "record_ms": statistics.median(record_ms),
                "claimed": len(claims),
            }
    finally:
        stop.set()
        await store.close()
    return out
