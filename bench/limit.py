"""The limit: a bare asyncio aiohttp client, no storage and no signing, in its own process.

    python -m bench.limit --base http://127.0.0.1:P --paths 8 --n 20000 --concurrency 128

Posts ``n`` bodies shaped like Hookline's standard envelope (same data, same
header set with static values) round-robin to ``/ok/0`` … ``/ok/<paths-1>``
with ``concurrency`` requests in flight, and prints one JSON line of results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp

from bench.api import event_data


def bodies(n: int, paths: int) -> list[bytes]:
    out = []
    for k in range(n):
        env = {
            "id": f"evt_01JBENCH{k:017d}",
            "type": f"bench.{k % paths}",
            "timestamp": "2025-01-01T00:00:00.000Z",
            "data": event_data(k),
        }
        out.append(json.dumps(env, separators=(",", ":")).encode())
    return out


HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "Hookline-Webhook/1.0",
    "X-Hookline-Event": "bench.0",
    "X-Hookline-Delivery": "evt_01JBENCH00000000000000000",
    "X-Hookline-Timestamp": "1735689600",
    "X-Hookline-Attempt": "1",
    "webhook-id": "evt_01JBENCH00000000000000000",
    "webhook-timestamp": "1735689600",
    "webhook-signature": "v1," + "A" * 44,
}


async def run(base: str, paths: int, n: int, concurrency: int) -> dict[str, float]:
    payloads = bodies(n, paths)
    urls = [f"{base}/ok/{k % paths}" for k in range(n)]
    connector = aiohttp.TCPConnector(limit=concurrency)
    errors = 0
    next_k = 0
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal next_k, errors
            while next_k < n:
                k = next_k
                next_k += 1
                try:
                    async with session.post(urls[k], data=payloads[k], headers=HEADERS) as resp:
                        await resp.read()
                        if resp.status != 200:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1

        cpu0 = time.process_time()
        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.monotonic() - started
        cpu = time.process_time() - cpu0
    return {
        "n": n,
        "seconds": seconds,
        "rate": n / seconds,
        "errors": errors,
        "body_bytes": sum(map(len, payloads)) / n,
        "cpu_s": cpu,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--paths", type=int, default=8)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=128)
    args = parser.parse_args()
    import uvloop

    result = uvloop.run(run(args.base, args.paths, args.n, args.concurrency))
    print(json.dumps(result), flush=True)
