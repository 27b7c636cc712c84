"""A publisher's clients, one per connection and credentials, connected on first use.

Each publisher keeps a ``Clients`` keyed by what tells one of its connections from another
(``Broker.connection``, ``Aws.client``). ``get`` hands out the kept client while it is
``alive`` and connects otherwise, one connection at a time per key, so concurrent attempts to
one broker open one connection; a client that failed in a way that leaves it unusable is
dropped with ``forget`` and the next attempt connects again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
C = TypeVar("C")


class Clients(Generic[K, C]):
    """Clients of type ``C`` by key ``K``; ``close`` ends one, ``alive`` says whether a kept
    one may still be used (by default it may until it is forgotten)."""

    def __init__(
        self,
        *,
        close: Callable[[C], Awaitable[None]],
        alive: Callable[[C], bool] = lambda _client: True,
    ) -> None:
        self._close = close
        self._alive = alive
        self._clients: dict[K, C] = {}
        self._locks: dict[K, asyncio.Lock] = {}

    async def get(self, key: K, connect: Callable[[], Awaitable[C]]) -> C:
        """The client of ``key``: the kept one while it is alive, else a new one from
        ``connect`` (what ``connect`` raises, the caller gets; nothing is kept then)."""
        async with self._locks.setdefault(key, asyncio.Lock()):
            client = self._clients.get(key)
            if client is not None and self._alive(client):
                return client
            await self.forget(key)
            client = await connect()
            self._clients[key] = client
            return client

    async def forget(self, key: K) -> None:
        """Drop and close the client of ``key``, if one is kept."""
        client = self._clients.pop(key, None)
        if client is not None:
            await self._close(client)

    async def close(self) -> None:
        """Close every kept client."""
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            await self._close(client)
