"""A capturing receiver on 127.0.0.1 that keeps each request as a receiver sees it on the wire.

Unlike the acceptance receiver it keeps what third-party verifiers need: the header names
as sent and the full URL rebuilt from the ``Host`` header and the raw request target (path
and query, percent-encoded as sent), which is what a receiver passes as ``@target-uri``.
Every request is answered 200; tests wait for what arrives with a deadline.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True, kw_only=True)
class Captured:
    method: str
    url: str  # http://{Host}{raw path and query}
    headers: dict[str, str]  # names as sent
    body: bytes

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lower), None)


class Capture:
    """An aiohttp server on its own thread; each test takes fresh paths from ``path()``."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._seen: dict[str, list[Captured]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.base_url = ""

    def path(self) -> str:
        """A fresh path under which requests are kept (any query string is allowed)."""
        path = f"/hook/{uuid.uuid4().hex}"
        with self._cond:
            self._seen[path] = []
        return path

    def url(self, path: str | None = None) -> str:
        return self.base_url + (path or self.path())

    def wait(self, path: str, count: int = 1, timeout: float = 10.0) -> list[Captured]:
        """The first ``count`` requests to ``path``; fail if they do not arrive in ``timeout`` s."""
        with self._cond:
            arrived = self._cond.wait_for(lambda: len(self._seen[path]) >= count, timeout)
            got = list(self._seen[path])
        assert arrived, f"{path}: {len(got)} of {count} requests arrived within {timeout} s"
        return got[:count]

    def __enter__(self) -> Capture:
        self._thread = threading.Thread(target=self._serve, name="capture", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the capturing receiver did not start within 10 s")
        return self

    def __exit__(self, *exc: object) -> None:
        loop, runner, thread = self._loop, self._runner, self._thread
        if loop is None or thread is None:
            return
        if runner is not None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=15)

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        loop.run_until_complete(self._open())
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _open(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.base_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        seen = Captured(
            method=request.method,
            url=f"http://{request.headers['Host']}{request.raw_path}",
            headers=dict(request.headers),
            body=body,
        )
        with self._cond:
            requests = self._seen.get(request.path)
            if requests is None:
                return web.Response(status=404, text="no such path")
            requests.append(seen)
            self._cond.notify_all()
        return web.Response(text="ok")
