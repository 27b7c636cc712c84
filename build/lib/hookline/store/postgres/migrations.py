"""Schema migrations: the ``.sql`` files of ``hookline/store/migrations/postgresql``, in name order.

All pending files run in one transaction that first takes a transaction-level
advisory lock, so concurrent migrators (several processes starting on a fresh
database) run one after the other: the later ones find everything applied.
"""

from __future__ import annotations

from importlib import resources

from hookline.ids import now_ms
from hookline.store.postgres.connection import Connection

# pg_advisory_xact_lock key of the migrators: "hookline" as a 64-bit integer.
LOCK_KEY = int.from_bytes(b"hookline", "big")


def scripts() -> list[tuple[str, str]]:
    """(file name, SQL) of every migration, oldest first."""
    folder = resources.files("hookline.store") / "migrations" / "postgresql"
    return sorted((f.name, f.read_text()) for f in folder.iterdir() if f.name.endswith(".sql"))


async def apply(conn: Connection) -> list[str]:
    """Apply the migrations not yet applied; return their versions (file names sans ``.sql``)."""
    applied = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for name, sql in scripts():
            if name in done:
                continue
            await conn.execute(sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                name,
                now_ms(),
            )
            applied.append(name.removesuffix(".sql"))
    return applied
