"""The fast receiver: its own process, aiohttp on uvloop, answers 200 at once and counts.

    python -m bench.receiver --port 0 --port-file /tmp/port

``POST /<group>/<anything>`` is counted under ``group`` with its arrival time
(``time.monotonic()``, the same clock in every process of this machine).
``POST /hang/…`` never answers: the handler sleeps until the client gives up.
While recording is on, each arrival's delivery id (``X-Hookline-Delivery``,
``webhook-id`` or the body's ``data.id`` for the peer) is kept for latency.

Control (GET): ``/_/stats``, ``/_/reset``, ``/_/record?on=1``, ``/_/arrivals``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

HANG_SECONDS = 600.0


class Counts:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total = 0
        self.hung = 0
        self.groups: dict[str, int] = {}
        self.first: float | None = None
        self.last: float | None = None
        self.recording = False
        self.arrivals: list[tuple[str, float]] = []

    def stats(self) -> dict[str, object]:
        return {
            "total": self.total,
            "hung": self.hung,
            "groups": self.groups,
            "first": self.first,
            "last": self.last,
            "now": time.monotonic(),
        }


def make_handler(counts: Counts) -> Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]:
    """aiohttp's low-level server: no router, no middleware, one function."""

    async def hook(request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        group = path[1:].partition("/")[0]
        if group == "_":
            return control(request)
        if group == "hang":
            counts.hung += 1
            await asyncio.sleep(HANG_SECONDS)
            return web.Response(status=200)
        body = await request.read()
        now = time.monotonic()
        counts.total += 1
        counts.groups[group] = counts.groups.get(group, 0) + 1
        if counts.first is None:
            counts.first = now
        counts.last = now
        if counts.recording:
            key = request.headers.get("X-Hookline-Delivery") or _body_id(body)
            counts.arrivals.append((key, now))
        return web.Response(status=200)

    def control(request: web.BaseRequest) -> web.StreamResponse:
        what = request.path.removeprefix("/_/")
        if what == "reset":
            counts.reset()
            return web.json_response({"ok": True})
        if what == "record":
            counts.recording = request.query.get("on") == "1"
            return web.json_response({"recording": counts.recording})
        if what == "arrivals":
            return web.json_response(counts.arrivals)
        return web.json_response(counts.stats())

    return hook


def _body_id(body: bytes) -> str:
    """The peer's payloads carry the event id inside the serialized model."""
    try:
        doc = json.loads(body)
        obj = doc.get("object") or {}
        data = obj.get("data") or doc.get("data") or {}
        return str(data.get("id", ""))
    except (ValueError, AttributeError):
        return ""


async def main(port: int, port_file: Path | None) -> None:
    runner = web.ServerRunner(
        web.Server(make_handler(Counts()), access_log=None), handle_signals=True
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    server = site._server
    assert server is not None
    bound = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    if port_file is not None:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(str(bound))
        tmp.rename(port_file)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path)
    args = parser.parse_args()
    import uvloop

    uvloop.run(main(args.port, args.port_file))
