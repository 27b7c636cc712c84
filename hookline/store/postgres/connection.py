"""A pool of asyncpg connections: reads retried once on a lost connection, write transactions.

After the server restarts, every pooled connection is dead. The pool replaces a
connection it knows is closed when it is acquired; one that looks alive but is
not fails its first query. The first such failure expires the whole pool (its
other connections are most likely dead too), so every connection is replaced on
its next acquisition. Reads are then retried once. Writes are not: a write whose
connection broke may or may not have committed, so it raises and the caller (a
request, the dispatcher's loops) decides; its retry gets a fresh connection.

PostgreSQL text cannot hold NUL (SQLite's can): a read looking for such text
finds nothing, and a write of it is invalid input (422), not a server error.

The database's own failures leave here as Hookline's errors, never as asyncpg's:
``disk_full`` (53100) is ``StorageFull`` (told to the ``SpaceWatch``); the rest of
class 53 "insufficient resources" (out of memory, too many connections…), a
read-only transaction (a standby after a failover) and a lost or refused connection
are ``StorageUnavailable``: worth trying again later.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]

from hookline.errors import Invalid, StorageFull, StorageUnavailable
from hookline.store.space import SpaceWatch

R = TypeVar("R")
# An asyncpg connection (the library ships no type information).
Connection = Any
# An asyncpg record: ``row["column"]`` access, as the shared mappers expect.
Record = Any

# Failures that mean "this connection is gone", not "this query is wrong".
CONNECTION_LOST: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.InterfaceError,  # includes ConnectionDoesNotExistError
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    # A query sent while the server's goodbye is still unread finds the protocol mid-error.
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
)
# The database cannot do it now, whatever the statement: out of resources, read-only, gone.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.InsufficientResourcesError,  # includes DiskFullError
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    *CONNECTION_LOST,
    OSError,  # refused, unreachable, timed out
)


class Database:
    """An asyncpg pool, created on first use (so an unopened store can still migrate)."""

    def __init__(
        self, url: str, *, space: SpaceWatch, min_size: int = 1, max_size: int = 10
    ) -> None:
        self.url = url
        self._space = space
        self._min_size = min_size
        self._max_size = max_size
        self._pool: Any = None
        self._lock = asyncio.Lock()
        self._closed = False

    async def pool(self) -> Any:
        if self._pool is None:
            async with self._lock:
                if self._closed:
                    raise RuntimeError("the store is closed")
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self.url,
                        min_size=self._min_size,
                        max_size=self._max_size,
                        server_settings={"application_name": "hookline"},
                        reset=_reset,
                    )
        return self._pool

    async def read(self, fn: Callable[[Connection], Awaitable[R]]) -> R:
        """Run ``fn`` on a pooled connection; once more on another if the connection was lost."""
        with self._storage_errors():
            try:
                async with self._pooled() as conn:
                    return await fn(conn)
            except CONNECTION_LOST:
                async with self._pooled() as conn:
                    return await fn(conn)

    async def fetch(self, sql: str, *args: Any) -> list[Record]:
        if _has_nul(args):
            return []
        rows: list[Record] = await self.read(lambda c: c.fetch(sql, *args))
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> Record | None:
        if _has_nul(args):
            return None
        return await self.read(lambda c: c.fetchrow(sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        if _has_nul(args):
            return None
        return await self.read(lambda c: c.fetchval(sql, *args))

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A pooled connection; losing it expires the pool, and the error propagates (as
        ``StorageUnavailable``, like the database's other failures)."""
        with self._storage_errors():
            async with self._pooled() as conn:
                yield conn

    @contextmanager
    def _storage_errors(self) -> Iterator[None]:
        try:
            yield
        except UNAVAILABLE as exc:
            if isinstance(exc, asyncpg.exceptions.DiskFullError):
                full = StorageFull()
                full.__cause__ = exc
                self._space.failed(full)
                raise full from exc
            raise StorageUnavailable() from exc

    @asynccontextmanager
    async def _pooled(self) -> AsyncIterator[Connection]:
        """A pooled connection; losing it expires the pool, and asyncpg's error propagates."""
        pool = await self.pool()
        try:
            async with pool.acquire() as conn:
                yield conn
        except CONNECTION_LOST:
            await pool.expire_connections()
            raise
        except asyncpg.exceptions.CharacterNotInRepertoireError as exc:
            raise Invalid("Text may not contain NUL (U+0000) characters.") from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection inside one transaction (READ COMMITTED), committed on exit."""
        async with self.connection() as conn, conn.transaction():
            yield conn

    async def execute(self, sql: str, *args: Any) -> int:
        """One statement, committed on its own; how many rows it changed."""
        async with self.connection() as conn:
            return rowcount(await conn.execute(sql, *args))

    async def close(self) -> None:
        self._closed = True
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


async def _reset(conn: Connection) -> None:
    """Make a connection fit for the pool again. Hookline's pooled connections carry no
    session state (no ``SET``, ``LISTEN`` or session-level locks), so giving one back costs
    no round trip, unlike asyncpg's default reset query; only a connection left inside a
    transaction (its request was cancelled mid-way) is rolled back."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def _has_nul(args: tuple[Any, ...]) -> bool:
    """Whether a text argument holds NUL, which PostgreSQL text cannot: it matches nothing."""
    return any(
        "\x00" in a if isinstance(a, str) else isinstance(a, list) and _has_nul(tuple(a))
        for a in args
    )


def rowcount(status: str) -> int:
    """The row count of a command status such as ``UPDATE 3`` or ``INSERT 0 1``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class Params:
    """Numbered placeholders for SQL built piece by piece: ``p(value)`` → ``$n``."""

    def __init__(self, *values: Any) -> None:
        self.values: list[Any] = list(values)

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"
