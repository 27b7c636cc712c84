"""Waiting, with a deadline, until a server of the tests has recorded enough: blocking in a
sync test, awaiting in an async one. The server records under the (reentrant) lock it gives
``Arrivals`` and calls ``notify`` after each record."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

from .background import Background

T = TypeVar("T")


class Arrivals:
    def __init__(self, lock: threading.RLock, server: Background) -> None:
        self._changed = threading.Condition(lock)
        self._server = server
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def notify(self) -> None:
        """Something was recorded: wake whoever waits."""
        with self._changed:
            self._changed.notify_all()
            for loop, event in self._waiters:
                loop.call_soon_threadsafe(event.set)

    def wait(self, fetch: Callable[[], list[T]], count: int, timeout: float, what: str) -> list[T]:
        """``fetch()`` once it holds ``count`` items; fail after ``timeout`` seconds."""
        if self._server._blocking_would_deadlock():
            raise RuntimeError("a sync wait on the server's own loop: await `arrived` instead")
        got: list[T] = []

        def enough() -> bool:
            nonlocal got
            got = fetch()
            return len(got) >= count

        with self._changed:
            arrived = self._changed.wait_for(enough, timeout)
        assert arrived, f"{what}: {len(got)} of {count} arrived within {timeout} s"
        return got

    async def arrived(
        self, fetch: Callable[[], list[T]], count: int, timeout: float, what: str
    ) -> list[T]:
        """``wait`` for async tests; past the deadline it raises ``TimeoutError``, as
        ``asyncio.timeout`` would (``pytest.raises(TimeoutError)``: nothing more arrives)."""
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        with self._changed:
            self._waiters.append(waiter)
        got: list[T] = []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    event.clear()
                    got = fetch()
                    if len(got) >= count:
                        return got
                    await event.wait()
        except TimeoutError:
            raise TimeoutError(
                f"{what}: {len(got)} of {count} arrived within {timeout} s"
            ) from None
        finally:
            with self._changed:
                self._waiters.remove(waiter)
