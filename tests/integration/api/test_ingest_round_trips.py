"""PostgreSQL ingestion costs one round trip per request once the configuration is cached.

The store talks to PostgreSQL through a TCP relay of the test's own that counts
what the client sends: each burst from the client is one request it then waits
for, so the bursts per ingest are its round trips.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from support.app import settings_for, start
from support.postgres import POSTGRES_URL

from hookline.domain.models import Role
from hookline.domain.webhook_commands import parse_create
from hookline.service import ADMIN, Services

pytestmark = pytest.mark.postgres


class CountingRelay:
    """Forwards 127.0.0.1:<port> to the PostgreSQL server, counting the client's bursts."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self.bursts = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self._target)

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter, count: bool) -> None:
            while data := await r.read(65536):
                if count:
                    self.bursts += 1
                w.write(data)
                await w.drain()
            w.close()

        await asyncio.gather(
            pipe(client_r, server_w, True), pipe(server_r, client_w, False), return_exceptions=True
        )


@pytest.fixture
async def relayed(
    postgres_databases: Any, tmp_path: Path
) -> AsyncIterator[tuple[Services, CountingRelay]]:
    """Services on a fresh PostgreSQL database (from the store fixtures) through the relay."""
    name = postgres_databases.take()
    server = urlsplit(POSTGRES_URL)
    relay = CountingRelay(server.hostname or "127.0.0.1", server.port or 5432)
    port = await relay.start()
    netloc = f"{server.username}@127.0.0.1:{port}" if server.username else f"127.0.0.1:{port}"
    url = urlunsplit(server._replace(netloc=netloc, path=f"/{name}"))
    services = await start(settings_for(tmp_path, database_url=url))
    try:
        yield services, relay
    finally:
        await services.ctx.store.close()
        await relay.close()
        postgres_databases.give_back(name)


async def test_an_event_is_one_round_trip_and_a_batch_too(
    relayed: tuple[Services, CountingRelay],
) -> None:
    services, relay = relayed
    await services.workspaces.create(ADMIN, {"id": "acme", "name": "Acme"})
    for n in range(3):
        await services.webhooks.create(
            ADMIN, "acme", parse_create({"url": f"https://example.com/{n}", "events": ["*"]})
        )
    key = (await services.workspaces.create_key(ADMIN, "acme", "publisher", Role.PUBLISHER))[1]
    who = await services.authenticate(key)
    body = json.dumps({"type": "order.paid", "data": {"n": 1}}).encode()
    await services.events.ingest(who, "acme", body, None)  # fills the cache

    relay.bursts = 0
    for _ in range(20):
        who = await services.authenticate(key)
        accepted = await services.events.ingest(who, "acme", body, None)
        assert accepted.deliveries == 3
    assert relay.bursts <= 20 * 2, relay.bursts

    batch = json.dumps({"events": [{"type": "order.paid", "data": {"n": n}} for n in range(100)]})
    relay.bursts = 0
    results = await services.events.ingest_batch(who, "acme", batch.encode())
    assert len(results) == 100
    assert relay.bursts <= 2, relay.bursts
