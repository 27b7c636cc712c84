"""Waiting for something that happens elsewhere (another process, another thread, the event
loop), with a deadline: ``poll`` for sync tests, ``eventually`` for async ones.

Both call ``fetch`` until ``until(value)`` holds and return that value; after ``timeout``
seconds they fail with ``what`` and the last value seen. Nothing here sleeps to synchronize:
the pause between two calls only spaces them out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

TIMEOUT = 10.0


def poll(
    fetch: Callable[[], T],
    until: Callable[[T], bool],
    *,
    timeout: float = TIMEOUT,
    interval: float = 0.03,
    what: str = "condition",
) -> T:
    """Call ``fetch`` until ``until(value)`` holds; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if until(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout} s; last value: {value!r}")
        time.sleep(interval)


async def eventually(
    fetch: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    timeout: float = TIMEOUT,
    interval: float = 0.02,
    what: str = "condition",
) -> T:
    """Await ``fetch`` until ``until(value)`` holds; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await fetch()
        if until(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout} s; last value: {value!r}")
        await asyncio.sleep(interval)
