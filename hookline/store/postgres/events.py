"""Events: idempotent ingestion with fan-out to deliveries, and event reads.

A batch, whatever its size, is one call of the ``hookline_ingest`` function: one
round trip and one transaction. It inserts the events in one ``INSERT … SELECT FROM
unnest(…) ON CONFLICT DO NOTHING`` and their deliveries in another, after locking
the webhooks ``FOR KEY SHARE`` (in id order) before their status is read, so a
concurrent pause either waits for this batch or is seen by it.
"""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]

from hookline.domain.models import Event
from hookline.store import records
from hookline.store.port import Inserted, NewEvent, Page, StaleConfig
from hookline.store.postgres.base import Queries
from hookline.store.postgres.connection import Params

# One call, one round trip (the function is in migration 0016): see its comment.
_INGEST = (
    "SELECT * FROM hookline_ingest($1, $2::text[], $3::text[], $4::text[], $5::text[], "
    "$6::bigint[], $7::text[], $8::integer[], $9::text[], $10::text[], $11::text[], "
    "$12::bigint[])"
)
# What the function raises when the configuration's counter moved.
_STALE = "HL001"


class EventQueries(Queries):
    async def config_version(self) -> int:
        return int(await self._db.fetchval("SELECT n FROM config_version WHERE id = 1"))

    async def insert_events(
        self, batch: list[NewEvent], *, config_version: int | None = None
    ) -> list[Inserted]:
        """Insert each event with one delivery per webhook; a known (workspace, id) inserts nothing."""
        if not batch:
            return []
        events = [item.event for item in batch]
        fan_out: tuple[list[str], list[int], list[str]] = ([], [], [])
        for n, item in enumerate(batch, start=1):
            for wh_id, dlv_id in zip(item.webhook_ids, item.delivery_ids, strict=True):
                fan_out[0].append(dlv_id)
                fan_out[1].append(n)
                fan_out[2].append(wh_id)
        try:
            async with self._db.connection() as c:
                found = await c.fetch(
                    _INGEST,
                    config_version,
                    [e.id for e in events],
                    [e.workspace_id for e in events],
                    [e.type for e in events],
                    [e.data_json for e in events],
                    [e.created_at for e in events],
                    *fan_out,
                    [item.trace_context for item in batch],
                    [records.channels_column(e.channels) for e in events],
                    [item.expires_at for item in batch],
                )
        except asyncpg.exceptions.PostgresError as exc:
            if getattr(exc, "sqlstate", None) == _STALE:
                raise StaleConfig from exc
            raise
        return [
            Inserted(event=ev, created=True, deliveries=row["deliveries"], due=row["due"])
            if row["created"]
            else Inserted(event=records.event(row), created=False, deliveries=row["deliveries"])
            for ev, row in zip(events, found, strict=True)
        ]

    async def get_event(self, event_id: str, *, ws_id: str | None) -> Event | None:
        p = Params()
        sql = f"SELECT * FROM events WHERE id = {p(event_id)}"
        if ws_id is not None:
            sql += f" AND workspace_id = {p(ws_id)}"
        row = await self._db.fetchrow(sql + " ORDER BY pk LIMIT 1", *p.values)
        return records.event(row) if row else None

    async def list_events(
        self,
        ws_id: str,
        *,
        type: str | None,
        since: int | None,
        until: int | None,
        limit: int,
        cursor: str | None,
    ) -> Page[Event]:
        p = Params()
        sql = (
            f"SELECT * FROM events WHERE workspace_id = {p(ws_id)} "
            f"AND pk < {p(records.int_cursor(cursor))}"
        )
        if type is not None:
            sql += f" AND type = {p(type)}"
        if since is not None:
            sql += f" AND created_at >= {p(since)}"
        if until is not None:
            sql += f" AND created_at < {p(until)}"
        sql += f" ORDER BY pk DESC LIMIT {p(limit + 1)}"
        found = await self._db.fetch(sql, *p.values)
        return records.page(found, limit, "pk", records.event)
