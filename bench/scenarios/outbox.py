"""The closest Python peer: django-outbound-webhooks' database outbox, SQLite or PostgreSQL.

As with Hookline's runs and the Celery peer's, the events are fired in advance
(``bench.outbox.enqueue``: one transaction each, writing the event row and one
delivery row), then the relays start and the rate is taken from the first to
the last arrival at the receiver (the relays' start-up is not counted). The run
ends when the log is complete: every delivery row ``succeeded`` and one
``succeeded`` attempt row per event, read from the peer's database.

Relays: the package runs one delivery at a time per relay ("concurrency is the
number of processes"). On SQLite it allows exactly one relay (no ``SKIP
LOCKED``: ``bench.outbox.relay``); on PostgreSQL the bench runs the package's
``deliver_events`` command once per core, as many processes as Hookline's
dispatchers.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.api import Receiver, poll
from bench.deploy import PG_BASE, psql
from bench.procs import PY, ROOT, CpuMeter, Proc
from bench.stats import spread_of

RELAYS_PG = os.cpu_count() or 2
DELIVERIES = "django_domain_events_deliveryrecord"
ATTEMPTS = "django_outbound_webhooks_deliveryattempt"


class _Db:
    """The peer's own database for one run: a SQLite file, or a fresh PostgreSQL database."""

    def __init__(self, store: str, work: Path) -> None:
        self.store = store
        self.path = work / "outbox.db"
        self.name = f"hookline_bench_outbox_{uuid.uuid4().hex[:8]}"
        if store == "postgres":
            psql(f'CREATE DATABASE "{self.name}"')

    @property
    def setting(self) -> str:
        return f"{PG_BASE}/{self.name}" if self.store == "postgres" else str(self.path)

    def counts(self, query: str) -> dict[str, int]:
        """``SELECT key, count(*) … GROUP BY key`` as a mapping."""
        if self.store == "postgres":
            lines = psql(query, db=self.name).splitlines()
            return {k: int(v) for k, v in (line.split("|") for line in lines)}
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            return {str(k): int(v) for k, v in conn.execute(query).fetchall()}
        finally:
            conn.close()

    def logged(self) -> tuple[dict[str, int], dict[str, int]]:
        """(delivery rows by status, attempt rows by verdict)."""
        return (
            self.counts(f"SELECT status, count(*) FROM {DELIVERIES} GROUP BY status"),
            self.counts(f"SELECT verdict, count(*) FROM {ATTEMPTS} GROUP BY verdict"),
        )

    def drop(self) -> None:
        if self.store == "postgres":
            psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


async def outbox(
    session: aiohttp.ClientSession,
    run_dir: Path,
    receiver: str,
    *,
    store: str,
    n: int,
    timeout: float = 120,
) -> dict[str, Any]:
    work = run_dir / f"outbox-{store}-{uuid.uuid4().hex[:6]}"
    work.mkdir()
    db = _Db(store, work)
    env = {
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "bench.outbox.settings",
        "BENCH_OUTBOX_DB": db.setting,
        "PYTHONWARNINGS": "ignore",
    }
    rcv = Receiver(session, receiver)
    try:
        enq = await asyncio.to_thread(_enqueue, env, f"{receiver}/ok/outbox", n)
        await rcv.reset()
        if store == "postgres":
            argv = [PY, "-m", "django", "deliver_events"]
            relays = [
                Proc(f"outbox-relay{i}", argv, log=work / f"relay{i}.log", env=env)
                for i in range(RELAYS_PG)
            ]
        else:
            relays = [
                Proc(
                    "outbox-relay",
                    [PY, "-m", "bench.outbox.relay"],
                    log=work / "relay.log",
                    env=env,
                )
            ]
        meter = CpuMeter({"relays": [p.pid for p in relays]}, postgres=store == "postgres").start()
        t0 = time.monotonic()
        try:
            stats = await rcv.wait_count(n, timeout=timeout, interval=0.05)
            (deliveries, attempts), complete = await poll(
                lambda: asyncio.to_thread(db.logged),
                lambda v: v[0].get("succeeded", 0) >= n and v[1].get("succeeded", 0) >= n,
                timeout=30,
                interval=0.1,
            )
            logged_s = time.monotonic() - t0
            cpu = meter.stop()
        finally:
            for p in relays:
                p.stop()
        dead = [p.output(1500) for p in relays if p.popen.returncode not in (0, None)]
        got = stats["total"]
        span = (stats["last"] or 0) - (stats["first"] or 0)
        return {
            "store": store,
            "n": n,
            "relays": len(relays),
            "received": got,
            "first_to_last_s": span,
            "rate": (got - 1) / span if span > 0 else 0.0,
            "logged_s": logged_s,
            "deliveries": deliveries,
            "attempts": attempts,
            "complete": got >= n and complete,
            "relay_errors": dead,
            "cpu": cpu,
            **enq,
        }
    finally:
        db.drop()


def _enqueue(env: dict[str, str], url: str, n: int) -> dict[str, Any]:
    out = subprocess.run(
        [PY, "-m", "bench.outbox.enqueue", "--url", url, "--n", str(n)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, **env},
    )
    if out.returncode != 0:
        raise RuntimeError(f"outbox enqueue failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One store's runs: the rates' spread, counts added, the log's statuses added."""
    deliveries: dict[str, int] = {}
    attempts: dict[str, int] = {}
    cpu: dict[str, float] = {}
    for r in runs:
        for total, part in ((deliveries, r["deliveries"]), (attempts, r["attempts"])):
            for key, count in part.items():
                total[key] = total.get(key, 0) + count
        for key, seconds in r["cpu"].items():
            cpu[key] = cpu.get(key, 0.0) + seconds
    return {
        "runs": runs,
        "store": runs[0]["store"],
        "relays": runs[0]["relays"],
        "rate": spread_of(runs, "rate"),
        "enqueue_rate": spread_of(runs, "enqueue_rate"),
        "first_to_last_s": spread_of(runs, "first_to_last_s"),
        "n": sum(r["n"] for r in runs),
        "received": sum(r["received"] for r in runs),
        "deliveries": deliveries,
        "attempts": attempts,
        "cpu": cpu,
        "complete": all(r["complete"] for r in runs),
    }
