"""LISTEN for work notifications on a dedicated connection, re-established when lost.

A transaction that creates due work sends ``NOTIFY hookline_work`` (see
``base.notify_work``); every process listening is told at commit and wakes its
dispatcher. Notifications sent while the connection is down are lost, so after
reconnecting every callback is called once. The dispatcher still polls: this
only shortens the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from hookline.store.postgres.base import CHANNEL
from hookline.store.postgres.connection import CONNECTION_LOST, Connection

log = logging.getLogger(__name__)

# How long a health check of the listening connection may take before it counts as lost.
CHECK_TIMEOUT = 5.0
# Back-off between reconnection attempts: from the first to the longest, in seconds.
RETRY_FIRST, RETRY_MAX = 0.05, 5.0

_CHECK_FAILED: tuple[type[BaseException], ...] = (TimeoutError, *CONNECTION_LOST)
_CONNECT_FAILED: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresError,
    *CONNECTION_LOST,
)


class WorkListener:
    """One connection that LISTENs on ``hookline_work`` and calls the registered callbacks."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._wakes: list[Callable[[], None]] = []
        self._conn: Connection | None = None
        self._lock = asyncio.Lock()
        self._reconnecting: asyncio.Task[None] | None = None
        self._closed = False

    async def add(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` on every notification from now on.

        If the server cannot be reached now, keep trying in the background: the
        notifications only shorten waits, so their absence must not stop anyone.
        """
        self._wakes.append(wake)
        try:
            await self.ensure()
        except _CONNECT_FAILED as exc:
            log.warning("listening for work failed (%s); retrying in the background", exc)
            self._reconnect_soon()

    async def ensure(self) -> None:
        """Connect and LISTEN unless already listening; after a loss, wake every callback."""
        if self._closed or not self._wakes:
            return
        async with self._lock:
            if self._closed or (self._conn is not None and not self._conn.is_closed()):
                return
            # Notifications sent since the last connection (or since a failed first try) are lost.
            again = self._conn is not None or self._reconnecting is not None
            conn = await asyncpg.connect(
                self._url, server_settings={"application_name": "hookline-listen"}
            )
            try:
                await conn.add_listener(CHANNEL, self._notified)
            except BaseException:
                conn.terminate()
                raise
            conn.add_termination_listener(self._lost)
            self._conn = conn
        if again:
            log.info("listening for work again")
            self._wake_all()

    async def check(self) -> None:
        """Make sure the listening connection works (a cheap query); re-establish it if not."""
        conn = self._conn
        if conn is not None and not conn.is_closed():
            try:
                async with asyncio.timeout(CHECK_TIMEOUT):
                    await conn.fetchval("SELECT 1")
            except _CHECK_FAILED:
                conn.terminate()
        await self.ensure()

    async def close(self) -> None:
        self._closed = True
        task, self._reconnecting = self._reconnecting, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self._lock:  # not while a connection is being made
            conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    def _notified(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self._wake_all()

    def _wake_all(self) -> None:
        for wake in list(self._wakes):
            wake()

    def _lost(self, conn: Any) -> None:
        if conn is self._conn:
            self._reconnect_soon()

    def _reconnect_soon(self) -> None:
        if self._closed:
            return
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = RETRY_FIRST
        while not self._closed:
            try:
                await self.ensure()
                return
            except _CONNECT_FAILED as exc:
                log.warning("listening for work failed (%s); retrying in %.2f s", exc, delay)
            # Back-off between attempts to reach the server, not synchronization.
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)
