"""Fixtures of the interoperability tier: one real ``hookline serve --dev`` for the session and
the Node receivers (``node/verify.mjs``), installed with ``npm ci``. Deliveries arrive at the
session's recording receiver (``tests/conftest.py``), which keeps the URL and headers as sent.

The Node tests skip, saying why, only when node or npm is missing and ``HOOKLINE_REQUIRE_NODE``
is unset; CI sets it, so there a missing Node fails.

``stores`` runs a test on each store of the receivers' dedup (``hookline.receive.dedup``):
in memory, Redis, SQLite and PostgreSQL; Redis and PostgreSQL skip when absent unless
``HOOKLINE_REQUIRE_BROKERS`` / ``HOOKLINE_REQUIRE_POSTGRES`` is ``1``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.brokers import REDIS
from support.brokers import require as require_broker
from support.postgres import create_database, drop_database
from support.server import Api, Hookline

from hookline.receive.dedup import DeliveryStore, MemoryStore, RedisStore, SQLStore

from .nodejs import Node, installed_node


@pytest.fixture(scope="session")
def hookline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hookline]:
    with Hookline(tmp_path_factory.mktemp("interop")).running() as server:
        yield server


@pytest.fixture(scope="session")
def api(hookline: Hookline) -> Iterator[Api]:
    with hookline.api() as client:
        yield client


@pytest.fixture(scope="session")
def node() -> Node:
    return installed_node()


@dataclass(kw_only=True)
class Clock:
    """A clock the tests move: the seconds ``MemoryStore`` reads, the time ``SQLStore`` reads."""

    at: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def seconds(self) -> float:
        return self.at.timestamp()

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@dataclass(kw_only=True)
class Stores:
    """One kind of receiver dedup store: ``make(ttl=…)`` a new, empty one; ``clock`` moves
    its time (``None`` for Redis, which expires keys on its own clock)."""

    kind: str
    make: Callable[..., DeliveryStore]
    clock: Clock | None


@pytest.fixture(
    params=[
        "memory",
        "redis",
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """Each store of ``hookline.receive.dedup`` on a real backend: Redis on 127.0.0.1:6379
    (keys under a prefix of the test's own, deleted afterwards), a SQLite file, or a new
    PostgreSQL database dropped afterwards."""
    clock = Clock()
    if request.param == "memory":
        yield Stores(
            kind="memory",
            make=lambda **options: MemoryStore(clock=clock.seconds, **options),
            clock=clock,
        )
    elif request.param == "redis":
        import redis

        require_broker(REDIS)
        client = redis.Redis(host="127.0.0.1", port=6379)
        prefix = f"hookline-test:{uuid.uuid4().hex}:"
        try:
            yield Stores(
                kind="redis",
                make=lambda **options: RedisStore(client, prefix=prefix, **options),
                clock=None,
            )
        finally:
            for key in client.scan_iter(match=f"{prefix}*"):
                client.delete(key)
            client.close()
    else:
        import sqlalchemy as sa

        if request.param == "sqlite":
            url, server = f"sqlite:///{tmp_path / 'received.db'}", None
        else:
            server = request.getfixturevalue("postgres_server")
            url = create_database(server)
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))

        def make(**options: Any) -> SQLStore:
            store = SQLStore(engine, clock=clock.now, **options)
            store.create_table()
            return store

        try:
            yield Stores(kind=request.param, make=make, clock=clock)
        finally:
            engine.dispose()
            if server is not None:
                drop_database(url, server)
