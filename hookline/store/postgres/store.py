"""``PostgresStore``: the store port on a PostgreSQL database, assembled from its query groups."""

from __future__ import annotations

import re
from collections.abc import Callable

from hookline.ids import now_ms
from hookline.secrets import SecretBox
from hookline.store.postgres import migrations
from hookline.store.postgres.answers import AnswerQueries
from hookline.store.postgres.claims import ClaimQueries
from hookline.store.postgres.connection import Database
from hookline.store.postgres.deliveries import DeliveryQueries
from hookline.store.postgres.events import EventQueries
from hookline.store.postgres.listener import WorkListener
from hookline.store.postgres.partitions import PartitionQueries
from hookline.store.postgres.queue import QueueQueries
from hookline.store.postgres.sessions import SessionQueries
from hookline.store.postgres.tenants import TenantQueries
from hookline.store.postgres.webhooks import WebhookQueries
from hookline.store.space import SpaceWatch


class PostgresStore(
    TenantQueries,
    WebhookQueries,
    EventQueries,
    DeliveryQueries,
    ClaimQueries,
    QueueQueries,
    PartitionQueries,
    SessionQueries,
    AnswerQueries,
):
    """An asyncpg pool (1 to ``max_size`` connections) and, once asked, one listening connection.

    Any number of processes may share the database: claims lock with ``SKIP
    LOCKED``, rate limits and FIFO order are kept in the database, and work
    created by one process is announced to the others with NOTIFY. ``box`` holds the
    deployment key: webhooks' custom headers are stored sealed with it. The pool tells
    ``_space`` of writes refused for lack of space (see ``ensure_writable``).
    """

    def __init__(self, url: str, *, box: SecretBox, min_size: int = 1, max_size: int = 10) -> None:
        self.url = url
        self._box = box
        self._space = SpaceWatch(self._probe)
        self._db = Database(url, space=self._space, min_size=min_size, max_size=max_size)
        self._listener = WorkListener(url)

    def __repr__(self) -> str:
        return f"PostgresStore({_masked(self.url)!r})"

    async def open(self) -> None:
        await self.migrate()

    async def close(self) -> None:
        await self._listener.close()
        await self._db.close()

    async def migrate(self) -> list[str]:
        async with self._db.connection() as conn:
            return await migrations.apply(conn)

    async def ping(self) -> None:
        """Raise unless the database answers; re-establish a lost listening connection."""
        await self._db.fetchval("SELECT 1")
        await self._listener.check()

    async def ensure_writable(self) -> None:
        await self._space.ensure_writable()

    async def _probe(self) -> None:
        """The smallest write that must reach the disk: one row rewritten."""
        await self._db.execute(
            "INSERT INTO storage_probe (id, probed_at) VALUES (1, $1) "
            "ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at",
            now_ms(),
        )

    async def listen_for_work(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` whenever another process (or this one) commits work that may be due."""
        await self._listener.add(wake)

    def work_created(self) -> None:
        """Nothing: the transactions that create work send ``NOTIFY hookline_work`` themselves."""

    async def key_check(self) -> str | None:
        token = await self._db.fetchval("SELECT token FROM key_check WHERE id = 1")
        return None if token is None else str(token)

    async def set_key_check(self, token: str, *, now: int) -> str:
        # A concurrent first insert makes this one wait for it, then do nothing: both read its token.
        await self._db.execute(
            "INSERT INTO key_check (id, token, created_at) VALUES (1, $1, $2) "
            "ON CONFLICT (id) DO NOTHING",
            token,
            now,
        )
        stored = await self._db.fetchval("SELECT token FROM key_check WHERE id = 1")
        return str(stored)

    async def any_webhook_secret(self) -> str | None:
        secret = await self._db.fetchval("SELECT secret FROM webhooks ORDER BY id LIMIT 1")
        return None if secret is None else str(secret)


def _masked(url: str) -> str:
    """The URL with its password (if any) replaced by ``***``."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
