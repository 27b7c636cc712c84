"""Redis Streams: one ``XADD`` per attempt (redis-py's asyncio client).

The entry has the field ``body`` (the envelope) and one field per delivery header, named
as sent; with ``maxLen`` the stream is trimmed (approximately) to that many entries. The
receipt is the entry id. A server whose answers are not Redis's (not RESP, or not what the
handshake expects) is ``unexpected_response``, and its connection is dropped.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio
import redis.exceptions
from yarl import URL

from hookline.dispatch.publishers import (
    UNREADABLE,
    Guard,
    Refused,
    acknowledged,
    unexpected,
)
from hookline.dispatch.transport import OutboundRequest, SendResult
from hookline.domain import queues


class Redis:
    def __init__(self) -> None:
        self._clients: dict[tuple[Any, ...], redis.asyncio.Redis] = {}
        self._locks: dict[tuple[Any, ...], asyncio.Lock] = {}

    async def publish(self, request: OutboundRequest, guard: Guard) -> SendResult:
        start = time.perf_counter()
        destination = request.destination
        assert isinstance(destination, queues.Redis)
        client = await self._client(destination, guard, request.timeout)
        fields: dict[Any, Any] = {"body": request.body, **request.headers}
        try:
            entry = await client.xadd(
                destination.stream,
                fields,
                maxlen=destination.max_len,
                approximate=True,
            )
        except redis.exceptions.ConnectionError as exc:
            await self._forget(destination)
            raise Refused("connect_error", str(exc)) from exc
        except (redis.exceptions.InvalidResponse, *UNREADABLE) as exc:
            await self._forget(destination)
            raise unexpected(exc) from exc
        except redis.exceptions.RedisError as exc:
            raise Refused("publish_error", str(exc)) from exc
        stream_id = entry.decode() if isinstance(entry, bytes) else str(entry)
        return acknowledged(request, start, {"stream": destination.stream, "id": stream_id})

    async def _client(
        self, destination: queues.Redis, guard: Guard, timeout: float
    ) -> redis.asyncio.Redis:
        key = destination.connection
        async with self._locks.setdefault(key, asyncio.Lock()):
            client = self._clients.get(key)
            if client is None:
                client = await self._connect(destination, guard, timeout)
                self._clients[key] = client
            return client

    async def _connect(
        self, destination: queues.Redis, guard: Guard, timeout: float
    ) -> redis.asyncio.Redis:
        url = URL(destination.url)
        tls = url.scheme == "rediss"
        checked = await guard.address(url.host or "", url.port or 6379, every=tls)
        return redis.asyncio.Redis(
            host=(url.host or "") if tls else checked,  # TLS verifies the name: connect by it
            port=url.port or 6379,
            db=int(url.path[1:] or 0),
            username=destination.username,
            password=destination.password,
            ssl=tls,
            ssl_check_hostname=tls,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
        )

    async def _forget(self, destination: queues.Redis) -> None:
        key = destination.connection
        client = self._clients.pop(key, None)
        if client is not None:
            await client.aclose()

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def make() -> Redis:
    return Redis()
