"""PostgreSQL for the tests: the server, and new databases on it that each test or module
owns and drops.

The server is ``HOOKLINE_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``: a server and its maintenance database).
``create_database`` makes a new one with a unique name next to it, ``drop_database``
removes it, disconnecting whoever is still connected. ``BACKENDS`` are the two stores a
test that touches storage runs on; the PostgreSQL one is marked ``postgres``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
import pytest

from .requirements import unavailable

POSTGRES_URL = os.environ.get(
    "HOOKLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# What connecting to an unreachable (or refusing) PostgreSQL server raises.
POSTGRES_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.exceptions.InterfaceError,
)

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` on the same server."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def execute(sql: str, server_url: str = POSTGRES_URL) -> None:
    """Run one statement on the server's maintenance database (``CREATE``/``DROP DATABASE``)."""
    conn = await asyncpg.connect(server_url, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database(server_url: str = POSTGRES_URL) -> str:
    """A new, empty database (``hookline_test_<uuid>``) on the server; its URL."""
    name = f"hookline_test_{uuid.uuid4().hex}"
    asyncio.run(execute(f'CREATE DATABASE "{name}"', server_url))
    return with_database(server_url, name)


def drop_database(url: str, server_url: str = POSTGRES_URL) -> None:
    """Drop the database of ``url``, disconnecting whoever is still connected."""
    name = urlsplit(url).path.lstrip("/")
    asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', server_url))


def require_server() -> str:
    """The server's URL, once a database could be made and dropped there; otherwise the test
    is skipped, saying why (or fails, with ``HOOKLINE_REQUIRE_POSTGRES=1``)."""
    try:
        drop_database(create_database())
    except POSTGRES_UNREACHABLE as exc:
        unavailable(
            f"PostgreSQL unreachable at {POSTGRES_URL}: {exc!r}", "HOOKLINE_REQUIRE_POSTGRES"
        )
    return POSTGRES_URL
