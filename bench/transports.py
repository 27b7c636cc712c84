"""CPU per request of HTTP clients, side by side, to the bench's receiver (issue 26, part 4).

    python -m bench.transports [--n 20000] [--concurrency 128] [--rounds 3] [--loop uvloop]

In one process, one client after another and round after round (the machine is shared),
each posts ``n`` envelopes like the bare client's (``bench.limit``) with ``concurrency``
in flight; the CPU time of the process per request is reported, each round's and the median:

- ``aiohttp``: a bare aiohttp session, as ``bench.limit`` posts;
- ``hookline``: Hookline's ``AiohttpTransport`` as a dev-mode dispatcher sends (no guards);
- ``hookline-guarded``: the same with the destination guards on, 127.0.0.0/8 allowed;
- ``protocol``: the yardstick, a request writer on ``asyncio.Protocol`` with ``httptools``
  parsing the answer over kept-alive connections. It is what posting costs without a client
  library's layers, not a transport: plain http only, no TLS, proxy, redirects, guards,
  timeouts, compressed or chunked answers or error mapping, which a transport built on it
  would have to add (and keep the security, proxy and TLS suites passing).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

import aiohttp
import httptools
from yarl import URL

from bench.limit import HEADERS, bodies
from bench.procs import start_receiver
from hookline.dispatch.sender import AiohttpTransport, make_session
from hookline.dispatch.transport import OutboundRequest

PATHS = 8
Post = Callable[[int], Awaitable[int]]  # request k → its status


class _Connection(asyncio.Protocol):
    """One kept-alive connection: one request at a time, its answer parsed by httptools."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future[int] | None = None
        self.keep_alive = False
        self._parser = httptools.HttpResponseParser(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._parser.feed_data(data)

    def on_message_complete(self) -> None:
        self.keep_alive = self._parser.should_keep_alive()
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(self._parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError("connection lost"))


class ProtocolClient:
    """Posts over pooled ``_Connection``s to one host and port."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._idle: list[_Connection] = []
        self._host_line = f"Host: {host}:{port}\r\n"

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        conn = None
        while self._idle and conn is None:
            candidate = self._idle.pop()
            conn = candidate if candidate.transport is not None else None
        if conn is None:
            loop = asyncio.get_running_loop()
            _, conn = await loop.create_connection(_Connection, self.host, self.port)
        head = f"POST {path} HTTP/1.1\r\n{self._host_line}Content-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        conn.answer = asyncio.get_running_loop().create_future()
        assert conn.transport is not None
        conn.transport.write(head.encode("latin-1") + body)
        status = await conn.answer
        if conn.keep_alive:
            self._idle.append(conn)
        elif conn.transport is not None:
            conn.transport.close()
        return status

    def close(self) -> None:
        for conn in self._idle:
            if conn.transport is not None:
                conn.transport.close()


async def run(kind: str, base: str, n: int, concurrency: int) -> float:
    """CPU seconds of this process per request for ``n`` posts by client ``kind``."""
    payloads = bodies(n, PATHS)
    urls = [f"{base}/ok/{k % PATHS}" for k in range(n)]
    close: Callable[[], Awaitable[None]]
    post: Post
    if kind == "aiohttp":
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))

        async def post(k: int) -> int:
            async with session.post(urls[k], data=payloads[k], headers=HEADERS) as resp:
                await resp.read()
                return resp.status

        close = session.close
    elif kind in ("hookline", "hookline-guarded"):
        guarded = kind == "hookline-guarded"
        allowed = (ipaddress.ip_network("127.0.0.0/8"),) if guarded else ()
        transport = AiohttpTransport(
            make_session(open_network=not guarded, allowed=allowed, limit=concurrency),
            open_network=not guarded,
            allowed=allowed,
            allow_http=True,
        )

        async def post(k: int) -> int:
            request = OutboundRequest(url=urls[k], headers=HEADERS, body=payloads[k], timeout=30)
            return (await transport.send(request)).status_code or 0

        close = transport.close
    elif kind == "protocol":
        url = URL(base)
        assert url.host is not None and url.port is not None
        client = ProtocolClient(url.host, url.port)

        async def post(k: int) -> int:
            return await client.post(f"/ok/{k % PATHS}", payloads[k], HEADERS)

        async def close() -> None:
            client.close()

    else:
        raise SystemExit(f"unknown client {kind}")
    next_k, failed = 0, 0

    async def worker() -> None:
        nonlocal next_k, failed
        while next_k < n:
            k, next_k = next_k, next_k + 1
            if await post(k) != 200:
                failed += 1

    cpu = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu = time.process_time() - cpu
    await close()
    if failed:
        raise RuntimeError(f"{kind}: {failed} of {n} requests were not answered 200")
    return cpu / n


async def main(args: argparse.Namespace) -> dict[str, object]:
    receiver, base = start_receiver(Path(tempfile.mkdtemp(prefix="hookline-transports-")))
    kinds = args.clients.split(",")
    per_request: dict[str, list[float]] = {k: [] for k in kinds}
    try:
        for _ in range(args.rounds):
            for kind in kinds:
                per_request[kind].append(await run(kind, base, args.n, args.concurrency))
    finally:
        receiver.stop()
    return {
        "loop": args.loop,
        "n": args.n,
        "concurrency": args.concurrency,
        "cpu_us_per_request": {k: [round(v * 1e6, 1) for v in vs] for k, vs in per_request.items()},
        "median_us": {k: round(statistics.median(vs) * 1e6, 1) for k, vs in per_request.items()},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="aiohttp,hookline,hookline-guarded,protocol")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        uvloop.install()
    print(json.dumps(asyncio.run(main(args))), flush=True)
