"""A small async client for Hookline's API and the receiver's control routes (aiohttp)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bench.procs import ADMIN_KEY

DATA_FILLER = "x" * 96  # makes an event's data ~150 bytes and its envelope ~250


def event_data(n: int, **extra: Any) -> dict[str, Any]:
    return {"n": n, "user": f"user_{n % 1000}", "note": DATA_FILLER, **extra}


class Api:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.s = session
        self.base = base
        self.auth = {"Authorization": f"Bearer {ADMIN_KEY}"}

    async def call(
        self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (200, 201, 202)
    ) -> Any:
        async with self.s.request(method, self.base + path, json=body, headers=self.auth) as resp:
            doc = await resp.json()
            if resp.status not in ok:
                raise RuntimeError(f"{method} {path}: {resp.status} {doc}")
            return doc.get("data")

    async def workspace(self) -> str:
        ws = await self.call("POST", "/v1/workspaces", {"name": "bench", "plan": "pro"})
        return str(ws["id"])

    async def webhook(
        self, ws: str, url: str, events: list[str], *, status: str = "active", **fields: Any
    ) -> str:
        body = {"url": url, "events": events, "status": status, **fields}
        wh = await self.call("POST", f"/v1/workspaces/{ws}/webhooks", body)
        return str(wh["id"])

    async def set_status(self, wh_ids: list[str], status: str) -> None:
        await asyncio.gather(
            *(self.call("PATCH", f"/v1/webhooks/{w}", {"status": status}) for w in wh_ids)
        )

    async def batch(self, ws: str, events: list[dict[str, Any]]) -> int:
        items = await self.call("POST", f"/v1/workspaces/{ws}/events/batch", {"events": events})
        bad = [i for i in items if not i["ok"]]
        if bad:
            raise RuntimeError(f"batch refused {len(bad)} events: {bad[:2]}")
        return len(items)

    async def single(self, ws: str, event: dict[str, Any]) -> None:
        await self.call("POST", f"/v1/workspaces/{ws}/events", event)

    async def ingest(
        self, ws: str, n: int, type_of: Callable[[int], str], *, size: int = 1000, parallel: int = 2
    ) -> float:
        """Ingest ``n`` events through the batch endpoint; returns the seconds it took."""
        started = time.monotonic()
        chunks = [range(i, min(n, i + size)) for i in range(0, n, size)]
        sem = asyncio.Semaphore(parallel)

        async def one(chunk: range) -> None:
            async with sem:
                await self.batch(ws, [{"type": type_of(k), "data": event_data(k)} for k in chunk])

        await asyncio.gather(*(one(c) for c in chunks))
        return time.monotonic() - started


class Receiver:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.s = session
        self.base = base

    async def _get(self, path: str) -> Any:
        async with self.s.get(self.base + path) as resp:
            return await resp.json()

    async def reset(self) -> None:
        await self._get("/_/reset")

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = await self._get("/_/stats")
        return stats

    async def record(self, on: bool) -> None:
        await self._get(f"/_/record?on={int(on)}")

    async def arrivals(self) -> list[tuple[str, float]]:
        return [(k, t) for k, t in await self._get("/_/arrivals")]

    async def wait_count(
        self, n: int, *, timeout: float, group: str | None = None, interval: float = 0.05
    ) -> dict[str, Any]:
        """Poll until ``n`` requests arrived (in ``group``); returns the last stats either way."""
        deadline = time.monotonic() + timeout
        while True:
            stats = await self.stats()
            got = stats["total"] if group is None else stats["groups"].get(group, 0)
            if got >= n or time.monotonic() >= deadline:
                return stats
            await asyncio.sleep(interval)


async def poll(
    fetch: Callable[[], Any], until: Callable[[Any], bool], *, timeout: float, interval: float = 0.1
) -> tuple[Any, bool]:
    """Call async ``fetch`` until ``until(value)``; returns (last value, reached)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await fetch()
        if until(value):
            return value, True
        if time.monotonic() >= deadline:
            return value, False
        await asyncio.sleep(interval)
