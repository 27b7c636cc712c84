"""``SqliteStore``: the store port on one SQLite file, assembled from its query groups."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from hookline.ids import now_ms
from hookline.secrets import SecretBox
from hookline.store.space import SpaceWatch
from hookline.store.sqlite import migrations
from hookline.store.sqlite.answers import AnswerQueries
from hookline.store.sqlite.connection import ConnectionThread, make_private
from hookline.store.sqlite.deliveries import DeliveryQueries
from hookline.store.sqlite.events import EventQueries
from hookline.store.sqlite.queue import QueueQueries
from hookline.store.sqlite.sessions import SessionQueries
from hookline.store.sqlite.tenants import TenantQueries
from hookline.store.sqlite.wake import Wakeups
from hookline.store.sqlite.webhooks import WebhookQueries


class SqliteStore(
    TenantQueries,
    WebhookQueries,
    EventQueries,
    DeliveryQueries,
    QueueQueries,
    SessionQueries,
    AnswerQueries,
):
    """WAL mode; one writer connection and one reader connection, each on its own thread.

    ``box`` holds the deployment key: webhooks' custom headers are stored sealed with it.
    Beside the database file, ``<file>-run/`` holds what the processes sharing it
    coordinate through: the write lock and the registry of dispatchers to wake. The
    writer tells ``_space`` whether the disk has room (see ``ensure_writable``).
    """

    def __init__(self, path: Path, *, box: SecretBox) -> None:
        self.path = path
        self._box = box
        run = path.with_name(path.name + "-run")
        self._space = SpaceWatch(self._probe)
        self._writer = ConnectionThread(
            path, "hookline-sqlite-w", lock=run / "write.lock", space=self._space
        )
        self._reader = ConnectionThread(path, "hookline-sqlite-r")
        self._wakeups = Wakeups(run / "wake", path)

    async def open(self) -> None:
        make_private(self.path)
        await self.migrate()

    async def close(self) -> None:
        self._wakeups.close()
        await self._writer.close()
        await self._reader.close()

    async def migrate(self) -> list[str]:
        return await self._writer.run(migrations.apply)

    async def ping(self) -> None:
        await self._reader.run(lambda c: c.execute("SELECT 1").fetchone())

    async def ensure_writable(self) -> None:
        await self._space.ensure_writable()

    async def _probe(self) -> None:
        """The smallest write that must reach the disk: one row rewritten."""
        at = now_ms()
        await self._writer.write(
            lambda c: c.execute(
                "INSERT INTO storage_probe (id, probed_at) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at",
                (at,),
            )
        )

    async def listen_for_work(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` when another process on this database creates work (see ``wake``)."""
        self._wakeups.listen(wake)

    def work_created(self) -> None:
        """Wake the dispatchers of every process on this database: work is due now."""
        self._wakeups.send()

    async def key_check(self) -> str | None:
        row = await self._reader.run(
            lambda c: c.execute("SELECT token FROM key_check WHERE id = 1").fetchone()
        )
        return None if row is None else str(row[0])

    async def set_key_check(self, token: str, *, now: int) -> str:
        def put(c: sqlite3.Connection) -> str:
            c.execute(
                "INSERT OR IGNORE INTO key_check (id, token, created_at) VALUES (1, ?, ?)",
                (token, now),
            )
            return str(c.execute("SELECT token FROM key_check WHERE id = 1").fetchone()[0])

        return await self._writer.write(put)

    async def any_webhook_secret(self) -> str | None:
        row = await self._reader.run(
            lambda c: c.execute("SELECT secret FROM webhooks ORDER BY id LIMIT 1").fetchone()
        )
        return None if row is None else str(row[0])
