"""A server of the tests (a receiver, a mailbox) that runs on an event loop: a thread of its
own for sync tests (``with server``), or the test's own loop for async tests (``async with
server``). Either way the test reads what it recorded, under a lock, from its own thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Self

START_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0


class Background:
    """Subclasses open their sockets in ``_open`` and close them in ``_close``; both run on the
    server's loop."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._startup_error: BaseException | None = None

    async def _open(self) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        raise NotImplementedError

    # -- on a thread of its own ------------------------------------------------

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
        self._thread.start()
        if not self._started.wait(START_TIMEOUT):
            raise RuntimeError(f"the {self._name} did not start within {START_TIMEOUT} s")
        if self._startup_error is not None:
            raise self._startup_error
        return self

    def stop(self) -> None:
        """Close the server and end its thread (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=STOP_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=STOP_TIMEOUT)
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

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

    # -- on the test's loop ----------------------------------------------------

    async def __aenter__(self) -> Self:
        self._loop = asyncio.get_running_loop()
        await self._open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the server before the ``async with`` block ends (idempotent)."""
        if self._loop is not None:
            await self._close()
            self._loop = None

    # -- for subclasses --------------------------------------------------------

    def _blocking_would_deadlock(self) -> bool:
        """Whether the caller runs on the server's own loop (a sync wait there never ends)."""
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def _call_soon(self, callback: Callable[[], object]) -> None:
        """Run ``callback()`` on the server's loop, from any thread."""
        assert self._loop is not None, f"the {self._name} is not running"
        self._loop.call_soon_threadsafe(callback)
