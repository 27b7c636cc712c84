"""A recording receiver: an HTTP server on a loopback address (``https://`` with an
``ssl_context``) that keeps every request and answers as each test scripts it.

It runs on a thread of its own for sync tests (``with Receiver() as rcv``) or on the test's
event loop for async ones (``async with Receiver() as rcv``). Each test takes its own
endpoint, a path, and scripts its answers there (see ``support.answers``)::

    endpoint = rcv.endpoint([500, (429, {"Retry-After": "1"})])  # then 200
    endpoint = rcv.endpoint(default=HANG)          # held until the client gives up
    endpoint = rcv.endpoint(delay=0.05)            # every answer 50 ms late
    endpoint = rcv.endpoint(respond=chaos)         # chaos(request) answers each request
    endpoint = rcv.endpoint(handler=stream_slowly) # an aiohttp handler answers

and waits, with a deadline, for what arrives: ``endpoint.wait(n)`` in a sync test, ``await
endpoint.arrived(n)`` in an async one. Requests to any other path are kept too (answered
404), so ``rcv.requests`` and ``rcv.count()`` show whatever reached the receiver.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import ssl
import struct
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import NoReturn, TypeAlias

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader
from multidict import CIMultiDict

from .answers import HANG, HANG_LIMIT, RESET, Answer, Received, Reply, Responder, as_reply
from .background import Background
from .waiting import Arrivals

__all__ = [
    "HANG",
    "RESET",
    "Answer",
    "Endpoint",
    "Handler",
    "Received",
    "Receiver",
    "Reply",
    "Responder",
]

Handler: TypeAlias = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
MAX_BODY = 16 * 1024 * 1024
# A request held by a delay when the receiver stops is answered, or dropped, within this time.
SHUTDOWN_TIMEOUT = 5.0


@dataclass(kw_only=True)
class _Script:
    statuses: deque[Answer]
    default: Answer
    delay: float = 0.0
    respond: Responder | None = None
    handler: Handler | None = None
    requests: list[Received] = field(default_factory=list)


class Endpoint:
    """One path of the receiver: its URL, its script and what it received."""

    def __init__(self, receiver: Receiver, path: str) -> None:
        self._receiver = receiver
        self.path = path
        self.url = receiver.url(path)

    @property
    def requests(self) -> list[Received]:
        return self._receiver._received(self.path)

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """Block until ``count`` requests arrived here; fail after ``timeout`` seconds."""
        return self._receiver._arrivals.wait(lambda: self.requests, count, timeout, self.path)

    async def arrived(self, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """``wait`` for async tests: the event loop runs on meanwhile; past the deadline it
        raises ``TimeoutError``."""
        return await self._receiver._arrivals.arrived(
            lambda: self.requests, count, timeout, self.path
        )

    def hold(self, delay: float) -> None:
        """From now on, answer each request after ``delay`` seconds."""
        with self._receiver._lock:
            self._script.delay = delay

    def script(self, statuses: Iterable[Answer] = (), *, default: Answer = 200) -> None:
        """From now on, answer ``statuses`` in turn, then ``default``."""
        with self._receiver._lock:
            self._script.statuses = deque(statuses)
            self._script.default = default

    def respond(self, responder: Responder) -> None:
        """From now on, answer each request with ``responder(request)``."""
        with self._receiver._lock:
            self._script.respond = responder

    def deliveries(self) -> Counter[str]:
        """How many requests each delivery id got here."""
        return Counter(r.delivery for r in self.requests)

    def succeeded(self) -> set[str]:
        """The delivery ids that got a 2xx answer here."""
        return {r.delivery for r in self.requests if r.status is not None and r.status < 300}

    @property
    def _script(self) -> _Script:
        return self._receiver._scripts[self.path]


class _Server(web.Server):
    """aiohttp's low-level server, telling the receiver when a connection opens and ends."""

    def __init__(self, receiver: Receiver) -> None:
        loop = asyncio.get_running_loop()

        def request(
            message: RawRequestMessage,
            payload: StreamReader,
            protocol: web.RequestHandler,
            writer: AbstractStreamWriter,
            task: asyncio.Task[None],
        ) -> web.BaseRequest:
            return web.BaseRequest(
                message, payload, protocol, writer, task, loop, client_max_size=MAX_BODY
            )

        # A client that hangs up cancels its request's handler (a hanging answer ends there).
        super().__init__(
            receiver._handle, request_factory=request, handler_cancellation=True, access_log=None
        )
        self._receiver = receiver

    def connection_made(self, handler: web.RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self._receiver._opened(handler)

    def connection_lost(
        self, handler: web.RequestHandler, exc: BaseException | None = None
    ) -> None:
        super().connection_lost(handler, exc)
        self._receiver._ended(handler)


class Receiver(Background):
    """The HTTP server on ``host`` (any loopback address, IPv6 too), https with a server
    ``ssl_context``; its endpoints, and every request that reached it."""

    def __init__(self, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__("receiver")
        self.host = host
        self.ssl_context = ssl_context
        self.port = 0
        self._lock = threading.RLock()
        self._arrivals = Arrivals(self._lock, self)
        self._scripts: dict[str, _Script] = {}
        self._all: list[Received] = []
        self._numbers = itertools.count(1)
        self._connections: dict[web.RequestHandler, int] = {}
        self._closed: dict[int, float] = {}
        self._runner: web.ServerRunner | None = None
        self._gate: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "http" if self.ssl_context is None else "https"
        return f"{scheme}://{host}:{self.port}"

    def url(self, path: str, *, host: str | None = None) -> str:
        """The URL of ``path`` here (``host``: another name or spelling of the address)."""
        if host is None:
            return f"{self.base_url}{path}"
        scheme = "http" if self.ssl_context is None else "https"
        return f"{scheme}://{host}:{self.port}{path}"

    def endpoint(
        self,
        statuses: Iterable[Answer] = (),
        *,
        default: Answer = 200,
        delay: float = 0.0,
        respond: Responder | None = None,
        handler: Handler | None = None,
        path: str | None = None,
    ) -> Endpoint:
        """A path (a fresh one unless given) answering ``statuses`` in turn, then ``default``,
        each after ``delay`` s; or ``respond(request)``; or ``handler``, an aiohttp handler."""
        path = path or f"/hook/{uuid.uuid4().hex}"
        script = _Script(
            statuses=deque(statuses), default=default, delay=delay, respond=respond, handler=handler
        )
        with self._lock:
            assert path not in self._scripts, f"{path} is taken"
            self._scripts[path] = script
        return Endpoint(self, path)

    @property
    def requests(self) -> list[Received]:
        """Every request that arrived, at any path, in order."""
        with self._lock:
            return list(self._all)

    def count(self, path: str | None = None) -> int:
        """How many requests arrived (at ``path``)."""
        with self._lock:
            return sum(1 for r in self._all if path is None or r.path == path)

    def clear(self) -> None:
        """Forget what arrived so far, everywhere."""
        with self._lock:
            self._all.clear()
            for script in self._scripts.values():
                script.requests.clear()

    def closed_at(self, connection: int) -> float | None:
        """When a connection (``Received.connection``) ended, if it did (``time.monotonic()``)."""
        with self._lock:
            return self._closed.get(connection)

    def release(self) -> None:
        """Answer every hanging request (200), now and from now on."""
        gate = self._gate
        assert gate is not None, "the receiver is not running"
        self._call_soon(gate.set)

    async def released(self) -> None:
        """For an endpoint's own handler: wait until ``release()`` (or the receiver stops)."""
        assert self._gate is not None, "the receiver is not running"
        await self._gate.wait()

    # -- serving ----------------------------------------------------------------

    async def _open(self) -> None:
        self._gate = asyncio.Event()
        self._runner = web.ServerRunner(_Server(self), shutdown_timeout=SHUTDOWN_TIMEOUT)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0, ssl_context=self.ssl_context, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _close(self) -> None:
        if self._gate is not None:
            self._gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def _opened(self, handler: web.RequestHandler) -> None:
        with self._lock:
            self._connections[handler] = next(self._numbers)

    def _ended(self, handler: web.RequestHandler) -> None:
        with self._lock:
            number = self._connections.pop(handler, None)
            if number is not None:
                self._closed[number] = time.monotonic()

    def _received(self, path: str) -> list[Received]:
        with self._lock:
            return list(self._scripts[path].requests)

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        scheme = "http" if self.ssl_context is None else "https"
        with self._lock:
            seen = Received(
                method=request.method,
                path=request.path,
                url=f"{scheme}://{request.headers.get('Host', request.host)}{request.raw_path}",
                headers=CIMultiDict(request.headers),
                body=body,
                at=time.monotonic(),
                connection=self._connections.get(request.protocol, 0),
            )
            script = self._scripts.get(request.path)
            if script is None:
                answer: Answer | None = Reply(status=404, body="no such endpoint")
            elif script.handler is not None or script.respond is not None:
                answer = None
            else:
                answer = script.statuses.popleft() if script.statuses else script.default
            delay = 0.0 if script is None else script.delay
        if script is not None and script.respond is not None:
            answer = script.respond(seen)
        seen.answer = answer
        with self._lock:
            self._all.append(seen)
            if script is not None:
                script.requests.append(seen)
        self._arrivals.notify()

        if script is not None and script.handler is not None:
            response = await script.handler(request)
        else:
            assert answer is not None
            response = await self._answer(request, answer, delay)
        if not response.prepared:
            await response.prepare(request)
        await response.write_eof()
        seen.status, seen.answered = response.status, time.monotonic()
        return response

    async def _answer(
        self, request: web.BaseRequest, answer: Answer, delay: float
    ) -> web.StreamResponse:
        if delay:
            await asyncio.sleep(delay)
        if answer == RESET:
            _hang_up(request, reset=True)
        if answer == HANG:
            assert self._gate is not None
            try:
                async with asyncio.timeout(HANG_LIMIT):
                    await self._gate.wait()
            except TimeoutError:
                _hang_up(request, reset=False)
            answer = 200
        assert not isinstance(answer, str)
        reply = as_reply(answer)
        body = f"answered {reply.status}" if reply.body is None else reply.body
        if isinstance(body, bytes):
            return web.Response(
                status=reply.status,
                body=body,
                headers=reply.headers,
                content_type=reply.content_type,
            )
        return web.Response(
            status=reply.status, text=body, headers=reply.headers, content_type=reply.content_type
        )


def _hang_up(request: web.BaseRequest, *, reset: bool) -> NoReturn:
    """End the connection without an answer: with RST (``reset``), as a crashing peer would,
    or closed. The handler ends with it, as it does when the client hangs up."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if reset and sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    raise asyncio.CancelledError
