"""Attempts by day: create the coming days' partitions, drop the days retention has passed.

``attempts`` is partitioned by range of ``started_at`` (migration 0006), one
partition per UTC day named ``attempts_YYYYMMDD``. Dropping a day removes its
files, where deleting its rows would write each one to the WAL and leave it to
vacuum. Both DDL statements lock the whole ``attempts`` table (ACCESS EXCLUSIVE,
and creating also takes a brief lock on ``deliveries`` for the foreign key) for
the few milliseconds they take; ``lock_timeout`` keeps one from queueing every
attempt write behind a long reader: a statement that cannot have its locks at
once is tried again at the next purge. One process does this at a time
(``pg_try_advisory_xact_lock``); the others skip it.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import asyncpg  # type: ignore[import-untyped]

from hookline.store.postgres.base import Queries
from hookline.store.postgres.connection import Connection

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
# Days created ahead of today: a purge may be missed for that long before rows reach the default.
AHEAD_DAYS = 2
# How long a partition statement waits for its locks before giving up until the next purge.
LOCK_TIMEOUT = "200ms"
# pg_try_advisory_xact_lock key of partition maintenance: "hookpart" as a 64-bit integer.
LOCK_KEY = int.from_bytes(b"hookpart", "big")

_UPPER = re.compile(r"TO \('(-?\d+)'\)")


def day_start(ms: int) -> int:
    """The start of the UTC day ``ms`` falls in."""
    return ms - ms % DAY_MS


def partition_name(day: int) -> str:
    """``attempts_YYYYMMDD`` for the day starting at ``day`` (epoch ms)."""
    return "attempts_" + datetime.fromtimestamp(day // 1000, tz=UTC).strftime("%Y%m%d")


def create_sql(day: int) -> str:
    """The statement that creates the partition of the day starting at ``day``."""
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(day)} PARTITION OF attempts "
        f"FOR VALUES FROM ({day}) TO ({day + DAY_MS})"
    )


class PartitionQueries(Queries):
    async def rotate_partitions(self, now: int, *, before: int) -> int:
        """Create the next days' partitions; drop those holding only attempts older than ``before``.

        Returns how many partitions were dropped. Attempts of the day ``before``
        falls in, and any in the default partition, are left to ``purge_expired``.
        """
        bounds = await self._partition_bounds()
        for day in range(
            day_start(now) + DAY_MS, day_start(now) + (AHEAD_DAYS + 1) * DAY_MS, DAY_MS
        ):
            if partition_name(day) not in bounds:
                await self._partition_ddl(create_sql(day))
        dropped = 0
        for name, upper in sorted(bounds.items(), key=lambda item: item[1] or 0):
            if upper is not None and upper <= before:
                dropped += await self._partition_ddl(f"DROP TABLE IF EXISTS {name}")
        return dropped

    async def _partition_bounds(self) -> dict[str, int | None]:
        """Each partition of ``attempts`` and the end of its range (None for the default)."""
        rows = await self._db.fetch(
            "SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'attempts'::regclass"
        )
        out: dict[str, int | None] = {}
        for r in rows:
            upper = _UPPER.search(r["bound"])
            out[r["name"]] = int(upper.group(1)) if upper else None
        return out

    async def _partition_ddl(self, sql: str) -> int:
        """Run one partition statement; 1 if it ran, 0 if its locks or another process were busy."""
        try:
            async with self._db.transaction() as c:
                if not await _maintenance_lock(c):
                    return 0
                await c.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                await c.execute(sql)
            log.info("attempts partitions: %s", sql)
            return 1
        except asyncpg.exceptions.LockNotAvailableError:
            log.info("partition statement waited too long for its locks; next purge: %s", sql)
        except asyncpg.exceptions.CheckViolationError:
            # The default partition holds rows of that day (a clock far ahead): they stay there.
            log.warning("attempts_default holds rows of a day to create; left as is: %s", sql)
        return 0


async def _maintenance_lock(c: Connection) -> bool:
    return bool(await c.fetchval("SELECT pg_try_advisory_xact_lock($1)", LOCK_KEY))
