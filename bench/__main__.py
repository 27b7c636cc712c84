"""``make bench``: run every scenario against the same receiver and write docs/benchmarks.md.

    python -m bench [--out docs/benchmarks.md] [--only limit,sqlite,...] [--quick]

Each scenario starts what it needs (fresh data directory or database), stops by
itself, and is skipped with a note when the time left (``--budget``, default
40 min) is less than it needs. Every measured scenario runs ``REPEATS`` times
and reports the median and the lowest and highest of its runs. Results go to
``bench/.runs/<run>/results.json`` as they come and the report is rewritten
after every scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import shlex
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench import machine, report
from bench.deploy import HOOKLINE_WORKERS, Deployment, postgres_ready
from bench.procs import ROOT, start_receiver
from bench.scenarios import (
    ingest,
    isolation,
    latency,
    memory,
    noisy,
    outbox,
    peer,
    profile,
    purge,
    scale,
    storeops,
    throughput,
)
from bench.stats import spread

N_THROUGHPUT = 20_000
# Runs of every measured scenario (Hookline runs per store interleaved with the limit's,
# isolation runs per side, drains per size in the scale runs).
REPEATS = 3
CONCURRENCY = 128  # the limit's requests in flight = Hookline's attempts in flight
PG_WORKERS = 2
# The outbox peer delivers a few dozen per second: enough events for ~10 s of delivery a run.
N_OUTBOX = 300

# name → (estimated seconds, needs PostgreSQL)
PLAN: dict[str, tuple[float, bool]] = {
    "sqlite": (90, False),
    "postgres": (110, True),
    "ingest": (45, False),
    "latency": (40, False),
    "latency_pg": (45, True),
    "latency_1000": (45, False),
    "latency_1000_pg": (50, True),
    "isolation": (100, False),
    "noisy": (90, False),
    "memory": (130, False),
    "scale": (110, False),
    "scale_pg": (180, True),
    "peer": (100, False),
    "outbox": (80, False),
    "outbox_pg": (60, True),
    "profile": (45, False),
    "storeops": (25, False),
    "purge": (240, False),
    "purge_pg": (240, True),
}


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick: bool = args.quick
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        self.dir = ROOT / "bench" / ".runs" / stamp
        self.dir.mkdir(parents=True)
        self.deadline = time.monotonic() + args.budget
        self.results: dict[str, Any] = {
            "command": args.command,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "run_dir": str(self.dir.relative_to(ROOT)),
            "repeats": REPEATS,
            "hookline_workers": HOOKLINE_WORKERS,
            "scenarios": {},
        }
        self.receiver = ""
        self.pg_ok, self.pg_reason = False, ""

    def n(self, full: int) -> int:
        return max(1000, full // 10) if self.quick else full

    def save(self) -> None:
        (self.dir / "results.json").write_text(json.dumps(self.results, indent=1, default=str))
        self.args.out.write_text(report.render(self.results))

    async def scenario(self, name: str, fn: Callable[[], Awaitable[Any]]) -> None:
        wanted = self.args.only
        if wanted and name not in wanted:
            return
        estimate, needs_pg = PLAN[name]
        entry: dict[str, Any]
        left = self.deadline - time.monotonic()
        if needs_pg and not self.pg_ok:
            entry = {"status": "skipped", "reason": self.pg_reason}
        elif left < estimate * (0.3 if self.quick else 1.0):
            entry = {
                "status": "skipped",
                "reason": f"time budget: {left:.0f} s left, needs about {estimate:.0f} s",
            }
        else:
            print(f"[bench] {name} …", flush=True)
            started = time.monotonic()
            try:
                entry = {"status": "ok", "data": await fn()}
            except Exception as exc:
                traceback.print_exc()
                entry = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"[:1500]}
            entry["seconds"] = round(time.monotonic() - started, 1)
            entry["loadavg_end"] = os.getloadavg()
        print(f"[bench] {name}: {entry['status']} {entry.get('reason', '')}", flush=True)
        self.results["scenarios"][name] = entry
        self.save()

    async def run(self) -> None:
        self.results["machine"] = machine.facts()
        self.pg_ok, self.pg_reason = postgres_ready()
        self.results["postgres_ready"] = self.pg_ok or self.pg_reason
        recv_proc, self.receiver = start_receiver(self.dir)
        try:
            timeout = aiohttp.ClientTimeout(total=120)
            connector = aiohttp.TCPConnector(limit=64)
            async with aiohttp.ClientSession(timeout=timeout, connector=connector) as s:
                await self._all(s)
        finally:
            recv_proc.stop()
        self.results["total_seconds"] = round(self.args.budget - (self.deadline - time.monotonic()))
        self.save()

    async def _all(self, s: aiohttp.ClientSession) -> None:
        rcv, n = self.receiver, self.n(N_THROUGHPUT)

        async def pair(kind: str, env: dict[str, str] | None = None) -> dict[str, Any]:
            # The limit runs before, between and after Hookline's runs (the machine is shared
            # and drifts); each Hookline run is compared with the mean of the two around it.
            limits = [await asyncio.to_thread(throughput.run_limit, rcv, n, CONCURRENCY)]
            runs = []
            for _ in range(REPEATS):
                deploy = Deployment(kind, self.dir, workers=PG_WORKERS, env=env).start()
                try:
                    runs.append(await throughput.hookline_throughput(s, deploy, rcv, n))
                finally:
                    deploy.stop()
                limits.append(await asyncio.to_thread(throughput.run_limit, rcv, n, CONCURRENCY))
            ratios = [
                run["rate"] / ((before["rate"] + after["rate"]) / 2)
                for run, before, after in zip(runs, limits, limits[1:], strict=False)
            ]
            return {
                "limit": throughput.merge_runs(limits, "seconds"),
                "hookline": throughput.merge_runs(runs, "logged_s"),
                "limit_rate": spread(r["rate"] for r in limits),
                "rate": spread(r["rate"] for r in runs),
                "ratio": spread(ratios),
                "env": env,
            }

        async def in_deploy(
            kind: str,
            fn: Callable[[Deployment], Awaitable[Any]],
            *,
            env: dict[str, str] | None = None,
            probe: Path | None = None,
        ) -> Any:
            deploy = Deployment(kind, self.dir, workers=PG_WORKERS, env=env, probe=probe).start()
            try:
                return await fn(deploy)
            finally:
                deploy.stop()

        async def repeated(
            kind: str,
            fn: Callable[[Deployment], Awaitable[dict[str, Any]]],
            *,
            env: dict[str, str] | None = None,
        ) -> list[dict[str, Any]]:
            """``fn`` in ``REPEATS`` fresh deployments, one after another."""
            return [await in_deploy(kind, fn, env=env) for _ in range(REPEATS)]

        await self.scenario("sqlite", lambda: pair("sqlite"))
        await self.scenario("postgres", lambda: pair("postgres"))
        ingest_s = 1.0 if self.quick else 3.0
        await self.scenario(
            "ingest",
            lambda: self._combined(
                ingest.combine,
                repeated("sqlite", lambda d: ingest.ingest(s, d, rcv, seconds=ingest_s)),
            ),
        )
        secs = 2.0 if self.quick else 6.0

        async def latency_runs(kind: str, rate: float) -> dict[str, Any]:
            runs = await repeated(
                kind, lambda d: latency.latency(s, d, rcv, rate=rate, seconds=secs)
            )
            return latency.combine(runs)

        # 200 events/s as in every earlier report, and 1,000 (the target's rate).
        for name, kind, rate in (
            ("latency", "sqlite", 200.0),
            ("latency_pg", "postgres", 200.0),
            ("latency_1000", "sqlite", 1000.0),
            ("latency_1000_pg", "postgres", 1000.0),
        ):
            await self.scenario(name, functools.partial(latency_runs, kind, rate))
        await self.scenario("isolation", lambda: self._isolation(s))
        events, wait = (10, 5.0) if self.quick else (20, 15.0)
        await self.scenario(
            "noisy",
            lambda: self._combined(
                noisy.combine,
                repeated(
                    "sqlite",
                    lambda d: noisy.noisy(s, d, rcv, events=events, wait=wait),
                    env=noisy.env(),
                ),
            ),
        )
        await self.scenario(
            "memory",
            lambda: self._combined(
                memory.combine,
                repeated("sqlite", lambda d: memory.memory(s, d, rcv, n=self.n(100_000))),
            ),
        )
        big = 100_000 if self.quick else 1_000_000
        await self.scenario(
            "scale",
            lambda: in_deploy(
                "sqlite",
                lambda d: scale.scale(
                    s,
                    d,
                    rcv,
                    large=big,
                    measure=self.n(10_000),
                    repeats=REPEATS,
                    budget_s=self._fill_budget(25),
                ),
            ),
        )
        await self.scenario(
            "scale_pg",
            lambda: in_deploy(
                "postgres",
                lambda d: scale.scale(
                    s,
                    d,
                    rcv,
                    large=big,
                    measure=self.n(10_000),
                    repeats=REPEATS,
                    budget_s=self._fill_budget(40),
                ),
            ),
        )
        await self.scenario("peer", lambda: self._peer(s))
        for name, kind in (("outbox", "sqlite"), ("outbox_pg", "postgres")):
            await self.scenario(name, functools.partial(self._outbox, s, kind))
        await self.scenario(
            "profile",
            lambda: in_deploy(
                "sqlite",
                lambda d: profile.profile(
                    s,
                    d,
                    rcv,
                    self.dir / "profile-sqlite.txt",
                    n=self.n(30_000),
                    seconds=4 if self.quick else 10,
                ),
                probe=self.dir / "probe.json",
            ),
        )

        await self.scenario(
            "storeops", lambda: in_deploy("sqlite", lambda d: storeops.storeops(s, d, rcv))
        )
        for name, kind, env in (("purge", "sqlite", {}), ("purge_pg", "postgres", {})):
            await self.scenario(
                name,
                lambda kind=kind, env=env: in_deploy(
                    kind,
                    lambda d: purge.purge(s, d, rcv, expired=big, budget_s=self._fill_budget(60)),
                    env={**env, **purge.ENV},
                ),
            )

    @staticmethod
    async def _combined(
        combine: Callable[[list[dict[str, Any]]], dict[str, Any]],
        runs: Awaitable[list[dict[str, Any]]],
    ) -> dict[str, Any]:
        return combine(await runs)

    def _fill_budget(self, reserve: float) -> float:
        """At most ~3 minutes of filling, and never past the deadline minus ``reserve`` s."""
        left = float(self.deadline) - time.monotonic() - reserve - 60
        return max(5.0, min(180.0, left))

    async def _isolation(self, s: aiohttp.ClientSession) -> dict[str, Any]:
        per_hook = self.n(1_500)
        runs: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
        for _ in range(REPEATS):
            for label, hang in (("without", 0), ("with", isolation.HANG)):
                deploy = Deployment("sqlite", self.dir).start()
                try:
                    runs[label].append(
                        await isolation.healthy_rate(
                            s, deploy, self.receiver, per_hook=per_hook, hang=hang
                        )
                    )
                finally:
                    deploy.stop()
        out: dict[str, Any] = {}
        for label, done in runs.items():
            out[label] = throughput.merge_runs(done, "logged_s")
            out[label]["hung_requests"] = sum(r["hung_requests"] for r in done)
        # Each run with hanging endpoints against the run without them just before it.
        out["kept"] = spread(
            w["rate"] / wo["rate"] for wo, w in zip(runs["without"], runs["with"], strict=True)
        )
        out["timeout_s"] = isolation.TIMEOUT_S
        return out

    async def _peer(self, s: aiohttp.ClientSession) -> dict[str, Any]:
        n = self.n(2_000)
        out: dict[str, Any] = {}
        for pool, conc in (("prefork", os.cpu_count() or 2), ("prefork", 8)):
            runs = [
                await peer.peer(
                    s, self.dir, self.receiver, n=n, pool=pool, concurrency=conc, timeout=60
                )
                for _ in range(REPEATS)
            ]
            out[f"{pool}-{conc}"] = peer.combine(runs)
        return out

    async def _outbox(self, s: aiohttp.ClientSession, store: str) -> dict[str, Any]:
        n = 100 if self.quick else N_OUTBOX
        runs = [
            await outbox.outbox(s, self.dir, self.receiver, store=store, n=n)
            for _ in range(REPEATS)
        ]
        return outbox.combine(runs)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--only", type=lambda v: set(v.split(",")), default=set())
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes (smoke test)")
    parser.add_argument("--budget", type=float, default=40 * 60, help="seconds for all scenarios")
    parser.add_argument(
        "--render", type=Path, help="only rewrite the report from a run's results.json"
    )
    args = parser.parse_args()
    if args.render:
        args.out.write_text(report.render(json.loads(args.render.read_text())))
        return
    args.command = os.environ.get("BENCH_COMMAND") or shlex.join(
        ["python", "-m", "bench", *sys.argv[1:]]
    )
    import uvloop

    uvloop.run(Bench(args).run())


if __name__ == "__main__":
    main()
