"""A recording receiver on 127.0.0.1 (or another loopback address): an aiohttp server running on its own thread.

Each test takes its own endpoint (a unique path), scripts the answers there
(``[500, 500]`` then ``200``; a delay to hold each request) and waits, with a
deadline, for what arrives: method, path, headers and the raw body.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeAlias

from aiohttp import web
from multidict import CIMultiDict

# An answer is a status, or a status with response headers (e.g. Retry-After).
Answer: TypeAlias = int | tuple[int, dict[str, str]]


@dataclass(frozen=True, kw_only=True)
class Received:
    method: str
    path: str
    headers: CIMultiDict[str]
    body: bytes
    at: float  # time.monotonic() on arrival, before any scripted delay


@dataclass(kw_only=True)
class _Script:
    statuses: deque[Answer]
    default: Answer
    delay: float
    requests: list[Received] = field(default_factory=list)
    # Computes the answer (status, body) instead of the statuses, when set.
    respond: Callable[[Received], tuple[int, str]] | None = None


class Endpoint:
    """One path of the receiver: its URL, its script and what it received."""

    def __init__(self, receiver: Receiver, path: str) -> None:
        self._receiver = receiver
        self.path = path
        self.url = f"{receiver.base_url}{path}"

    @property
    def requests(self) -> list[Received]:
        return self._receiver.received(self.path)

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """Block until ``count`` requests arrived here; fail after ``timeout`` seconds."""
        return self._receiver.wait(self.path, count, timeout)

    def hold(self, delay: float) -> None:
        """From now on, answer each request after ``delay`` seconds."""
        self._receiver.hold(self.path, delay)

    def script(self, statuses: Iterable[Answer] = (), *, default: Answer = 200) -> None:
        """From now on, answer ``statuses`` in turn, then ``default``."""
        self._receiver.script(self.path, statuses, default=default)

    def respond(self, answer: Callable[[Received], tuple[int, str]]) -> None:
        """From now on, answer each request with ``answer(request)``: a status and a body."""
        self._receiver.respond(self.path, answer)


class Receiver:
    """``ssl_context`` (a server context) makes it an https:// receiver."""

    def __init__(self, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.ssl_context = ssl_context
        self._cond = threading.Condition()
        self._scripts: dict[str, _Script] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._startup_error: BaseException | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "http" if self.ssl_context is None else "https"
        return f"{scheme}://{host}:{self.port}"

    def endpoint(
        self, statuses: Iterable[Answer] = (), *, default: Answer = 200, delay: float = 0.0
    ) -> Endpoint:
        """A fresh path answering ``statuses`` in turn, then ``default``, each after ``delay`` s."""
        path = f"/hook/{uuid.uuid4().hex}"
        with self._cond:
            self._scripts[path] = _Script(statuses=deque(statuses), default=default, delay=delay)
        return Endpoint(self, path)

    def hold(self, path: str, delay: float) -> None:
        with self._cond:
            self._scripts[path].delay = delay

    def script(self, path: str, statuses: Iterable[Answer], *, default: Answer) -> None:
        with self._cond:
            self._scripts[path].statuses = deque(statuses)
            self._scripts[path].default = default

    def respond(self, path: str, answer: Callable[[Received], tuple[int, str]]) -> None:
        with self._cond:
            self._scripts[path].respond = answer

    def received(self, path: str) -> list[Received]:
        with self._cond:
            return list(self._scripts[path].requests)

    def wait(self, path: str, count: int, timeout: float) -> list[Received]:
        with self._cond:
            script = self._scripts[path]
            arrived = self._cond.wait_for(lambda: len(script.requests) >= count, timeout)
            got = list(script.requests)
        assert arrived, f"{path}: {len(got)} of {count} requests arrived within {timeout} s"
        return got

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="receiver", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the receiver did not start within 10 s")
        if self._startup_error is not None:
            raise self._startup_error

    def stop(self) -> None:
        loop, runner, thread = self._loop, self._runner, self._thread
        if loop is None or thread is None:
            return
        if runner is not None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=15)
        self._loop = self._thread = None

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._open())
        except BaseException as exc:
            self._startup_error = exc
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _open(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # A held request (SIGTERM test) finishes within a second or two.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0, ssl_context=self.ssl_context)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        seen = Received(
            method=request.method,
            path=request.path,
            headers=CIMultiDict(request.headers),
            body=body,
            at=time.monotonic(),
        )
        with self._cond:
            script = self._scripts.get(request.path)
            if script is None:
                return web.Response(status=404, text="no such endpoint")
            script.requests.append(seen)
            answer = script.statuses.popleft() if script.statuses else script.default
            delay = script.delay
            respond = script.respond
            self._cond.notify_all()
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        if delay:
            await asyncio.sleep(delay)
        if respond is not None:
            status, text = respond(seen)
            return web.Response(status=status, text=text, content_type="application/json")
        return web.Response(status=status, text=f"answered {status}", headers=headers)
