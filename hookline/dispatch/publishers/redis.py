"""Redis Streams: one ``XADD`` per attempt (redis-py's asyncio client).

The entry has the field ``body`` (the envelope) and one field per delivery header, named
as sent; with ``maxLen`` the stream is trimmed (approximately) to that many entries. The
receipt is the entry id. A server whose answers are not Redis's (not RESP, or not what the
handshake expects) is ``unexpected_response``, and its connection is dropped.
"""

from __future__ import annotations

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
from hookline.dispatch.publishers.clients import Clients
from hookline.dispatch.transport import OutboundRequest, SendResult
from hookline.domain import queues
from hookline.domain.attempt_errors import AttemptError


class Redis:
    def __init__(self) -> None:
        self._clients: Clients[tuple[str, str | None, str | None], redis.asyncio.Redis] = Clients(
            close=redis.asyncio.Redis.aclose
        )

    async def publish(self, request: OutboundRequest, guard: Guard) -> SendResult:
        start = time.perf_counter()
        destination = request.destination
        assert isinstance(destination, queues.Redis)
        key = destination.connection
        client = await self._clients.get(
            key, lambda: self._connect(destination, guard, request.timeout)
        )
        fields: dict[Any, Any] = {"body": request.body, **request.headers}
        try:
            entry = await client.xadd(
                destination.stream,
                fields,
                maxlen=destination.max_len,
                approximate=True,
            )
        except redis.exceptions.ConnectionError as exc:
            await self._clients.forget(key)
            raise Refused(AttemptError.CONNECT_ERROR, str(exc)) from exc
        except (redis.exceptions.InvalidResponse, *UNREADABLE) as exc:
            await self._clients.forget(key)
            raise unexpected(exc) from exc
        except redis.exceptions.RedisError as exc:
            raise Refused(AttemptError.PUBLISH_ERROR, str(exc)) from exc
        stream_id = entry.decode() if isinstance(entry, bytes) else str(entry)
        return acknowledged(request, start, {"stream": destination.stream, "id": stream_id})

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

    async def close(self) -> None:
        await self._clients.close()


def make() -> Redis:
    return Redis()
