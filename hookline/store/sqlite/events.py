"""Events: idempotent ingestion with fan-out to deliveries, and event reads."""

from __future__ import annotations

import sqlite3
from typing import Any

from hookline.domain.models import Event
from hookline.store import records
from hookline.store.port import Inserted, NewEvent, Page, StaleConfig
from hookline.store.sqlite import rows
from hookline.store.sqlite.base import Queries


class EventQueries(Queries):
    async def config_version(self) -> int:
        row = await self._reader.run(
            lambda c: c.execute("SELECT n FROM config_version WHERE id = 1").fetchone()
        )
        return int(row[0])

    async def insert_events(
        self, batch: list[NewEvent], *, config_version: int | None = None
    ) -> list[Inserted]:
        """Insert each event with one delivery per webhook; a known (workspace, id) inserts nothing."""

        def insert(c: sqlite3.Connection) -> list[Inserted]:
            if config_version is not None:
                (current,) = c.execute("SELECT n FROM config_version WHERE id = 1").fetchone()
                if current != config_version:
                    raise StaleConfig
            return [_insert_one(c, item) for item in batch]

        return await self._writer.write(insert)

    async def get_event(self, event_id: str, *, ws_id: str | None) -> Event | None:
        sql = "SELECT * FROM events WHERE id = ?"
        args: list[Any] = [event_id]
        if ws_id is not None:
            sql += " AND workspace_id = ?"
            args.append(ws_id)
        row = await self._reader.run(lambda c: c.execute(sql + " LIMIT 1", args).fetchone())
        return rows.event(row) if row else None

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
        sql = "SELECT * FROM events WHERE workspace_id = ? AND pk < ?"
        args: list[Any] = [ws_id, rows.int_cursor(cursor)]
        if type is not None:
            sql += " AND type = ?"
            args.append(type)
        if since is not None:
            sql += " AND created_at >= ?"
            args.append(since)
        if until is not None:
            sql += " AND created_at < ?"
            args.append(until)
        sql += " ORDER BY pk DESC LIMIT ?"
        args.append(limit + 1)
        found = await self._reader.run(lambda c: c.execute(sql, args).fetchall())
        return rows.page(found, limit, "pk", rows.event)


def _insert_one(c: sqlite3.Connection, item: NewEvent) -> Inserted:
    ev = item.event
    row = c.execute(
        "INSERT INTO events (id, workspace_id, type, data, created_at, channels) "
        "VALUES (?,?,?,?,?,?) ON CONFLICT (workspace_id, id) DO NOTHING RETURNING pk",
        (
            ev.id,
            ev.workspace_id,
            ev.type,
            ev.data_json,
            ev.created_at,
            records.channels_column(ev.channels),
        ),
    ).fetchone()
    if row is None:
        existing = c.execute(
            "SELECT e.*, (SELECT count(*) FROM deliveries d WHERE d.event_pk = e.pk "
            "AND d.resent_from IS NULL) AS n FROM events e "
            "WHERE workspace_id = ? AND id = ?",
            (ev.workspace_id, ev.id),
        ).fetchone()
        return Inserted(event=rows.event(existing), created=False, deliveries=existing["n"])
    statuses = []
    for wh_id, dlv_id in zip(item.webhook_ids, item.delivery_ids, strict=True):
        statuses += c.execute(
            "INSERT INTO deliveries (id, event_pk, webhook_id, workspace_id, event_id, "
            "event_type, status, next_attempt_at, created_at, trace_context, expires_at) "
            f"SELECT ?, ?, w.id, w.workspace_id, ?, ?, {rows.INITIAL}, ?, ?, ?, ? "
            "FROM webhooks w WHERE w.id = ? AND w.status != 'disabled' RETURNING status",
            (
                dlv_id,
                row["pk"],
                ev.id,
                ev.type,
                ev.created_at,
                ev.created_at,
                item.trace_context,
                item.expires_at,
                wh_id,
            ),
        ).fetchall()
    return Inserted(
        event=ev,
        created=True,
        deliveries=len(statuses),
        due=any(status == "pending" for (status,) in statuses),
    )
