"""A fast recording receiver on 127.0.0.1 that can misbehave: a bare HTTP/1.1 server on its own thread.

It answers keep-alive POSTs after an optional ``delay`` and records, per request,
the path, the delivery id (``X-Hookline-Delivery``), the attempt number, when it
arrived, when it was answered (``None``: never, the connection died first) and
its connection, and per connection when the client closed it. That is enough to
count deliveries per webhook (one path per webhook) and to know which attempts a
killed worker had open: its connections all close the moment it dies.

With ``Chaos`` it fails some attempts, chosen per (delivery, attempt) from a
seeded generator so that a run is reproducible: a 5xx answer, a hang (no answer
until the client gives up and closes the connection), or a reset (the
connection closed without an answer, with RST). The last attempt of a schedule
is always answered 200, so every delivery can succeed within its schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Behaviour = Literal["ok", "error", "hang", "reset"]
# The longest a hanging request is held if the client never gives up.
HANG_LIMIT = 30.0
# The 5xx answers of ``error``, taken in turn by attempt number.
ERRORS = (b"500 Internal Server Error", b"502 Bad Gateway", b"503 Service Unavailable")
# How long a connection may stay idle between two requests before it is closed.
IDLE_LIMIT = 60.0


@dataclass(frozen=True, kw_only=True)
class Chaos:
    """Shares of attempts that get a 5xx, hang, or are reset; the rest succeed."""

    error: float = 0.3
    hang: float = 0.1
    reset: float = 0.1
    last_attempt: int = 8  # always answered 200
    seed: int = 1

    def behaviour(self, delivery: str, attempt: int) -> Behaviour:
        if attempt >= self.last_attempt:
            return "ok"
        draw = random.Random(f"{self.seed}:{delivery}:{attempt}").random()
        if draw < self.error:
            return "error"
        if draw < self.error + self.hang:
            return "hang"
        if draw < self.error + self.hang + self.reset:
            return "reset"
        return "ok"


@dataclass(kw_only=True)
class Request:
    path: str
    delivery: str
    attempt: int
    behaviour: Behaviour
    arrived: float  # time.monotonic()
    connection: int
    answered: float | None = None  # when the answer was written; None if never

    def open_at(self, moment: float, *, slack: float = 0.0) -> bool:
        """Whether this request was in flight at ``moment`` (or answered within ``slack`` before)."""
        return self.arrived <= moment and (self.answered is None or self.answered >= moment - slack)


class FaultReceiver:
    def __init__(self, *, delay: float = 0.0, chaos: Chaos | None = None) -> None:
        self.delay = delay
        self.chaos = chaos
        self.port = 0
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._startup_error: BaseException | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._connections = 0
        self._closed: dict[int, float] = {}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    # -- what arrived ---------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def count(self) -> int:
        with self._lock:
            return len(self._requests)

    def received(self, name: str) -> Counter[str]:
        """How many requests each delivery id got at ``/name``."""
        path = f"/{name}"
        with self._lock:
            return Counter(r.delivery for r in self._requests if r.path == path)

    def succeeded(self, name: str) -> set[str]:
        """Delivery ids that got a 200 answer at ``/name``."""
        path = f"/{name}"
        with self._lock:
            return {
                r.delivery
                for r in self._requests
                if r.path == path and r.behaviour == "ok" and r.answered is not None
            }

    def closed_at(self, connection: int) -> float | None:
        """When the connection ended (``time.monotonic()``), if it did."""
        with self._lock:
            return self._closed.get(connection)

    def wait_until(
        self, condition: Callable[[FaultReceiver], bool], *, timeout: float, what: str
    ) -> None:
        """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"{what} not reached within {timeout} s ({self.count()} requests received)"
                )
            time.sleep(0.02)

    # -- lifecycle ------------------------------------------------------------

    def __enter__(self) -> FaultReceiver:
        self._thread = threading.Thread(target=self._serve, name="fault-receiver", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the receiver did not start within 10 s")
        if self._startup_error is not None:
            raise self._startup_error
        return self

    def __exit__(self, *exc: object) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=15)
        self._loop = self._thread = None

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=1024)
            )
            self.port = self._server.sockets[0].getsockname()[1]
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

    async def _close(self) -> None:
        """Stop accepting, drop every connection (its handler then ends by itself), wait."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=10)
        await self._server.wait_closed()

    # -- HTTP -----------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        self._connections += 1
        connection = self._connections
        try:
            while await self._exchange(reader, writer, connection):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            with self._lock:
                self._closed[connection] = time.monotonic()
            self._handlers.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: int
    ) -> bool:
        """Read one request and answer it; whether the connection stays open."""
        async with asyncio.timeout(IDLE_LIMIT):
            head = await reader.readuntil(b"\r\n\r\n")
        request_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        await reader.readexactly(int(headers.get("content-length", "0")))
        delivery = headers.get("x-hookline-delivery") or headers.get("webhook-id") or ""
        attempt = int(headers.get("x-hookline-attempt", "1"))
        behaviour: Behaviour = (
            self.chaos.behaviour(delivery, attempt) if self.chaos is not None else "ok"
        )
        seen = Request(
            path=request_line.split(" ")[1],
            delivery=delivery,
            attempt=attempt,
            behaviour=behaviour,
            arrived=time.monotonic(),
            connection=connection,
        )
        with self._lock:
            self._requests.append(seen)

        if behaviour == "reset":
            sock = writer.get_extra_info("socket")
            if sock is not None:  # RST rather than FIN: a reset, as a crashing peer would
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if behaviour == "hang":
            # No answer: wait for the client to give up (its timeout closes the connection).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(HANG_LIMIT):
                    while await reader.read(65536):
                        pass
            return False
        if self.delay:
            await asyncio.sleep(self.delay)  # holding the request: the attempt is in flight
        if writer.is_closing():  # the client died meanwhile (or the receiver is closing)
            return False
        status = ERRORS[attempt % len(ERRORS)] if behaviour == "error" else b"200 OK"
        writer.write(
            b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
        )
        await writer.drain()
        seen.answered = time.monotonic()
        return headers.get("connection", "").lower() != "close"
