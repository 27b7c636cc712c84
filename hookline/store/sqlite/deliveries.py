"""Deliveries and attempts as the Send Logs show them; resend, recover and test deliveries."""

from __future__ import annotations

import sqlite3
from typing import Any

from hookline.domain.models import Attempt, Delivery, DeliveryStatus, Event
from hookline.store.port import DeliveryFilter, EndpointHealth, Page
from hookline.store.sqlite import rows
from hookline.store.sqlite.base import Queries

# Per webhook: its settled deliveries numbered newest first; the streak is how many failed
# ones come before the newest success.
HEALTH_SQL = """
WITH settled AS (
    SELECT webhook_id, status, completed_at,
           ROW_NUMBER() OVER (
               PARTITION BY webhook_id ORDER BY completed_at DESC, id DESC
           ) AS n
    FROM deliveries
    WHERE webhook_id IN ({ids}) AND status IN ('succeeded', 'failed')
      AND completed_at IS NOT NULL
)
SELECT webhook_id,
       MAX(CASE WHEN n = 1 THEN status END) AS status,
       MAX(CASE WHEN n = 1 THEN completed_at END) AS completed_at,
       COALESCE(MIN(CASE WHEN status = 'succeeded' THEN n END), COUNT(*) + 1) - 1 AS streak
FROM settled GROUP BY webhook_id
"""


class DeliveryQueries(Queries):
    async def get_delivery(self, dlv_id: str) -> Delivery | None:
        row = await self._reader.run(
            lambda c: c.execute("SELECT * FROM deliveries WHERE id = ?", (dlv_id,)).fetchone()
        )
        return rows.delivery(row) if row else None

    async def list_deliveries(
        self, flt: DeliveryFilter, *, limit: int, cursor: str | None
    ) -> Page[Delivery]:
        sql = "SELECT * FROM deliveries d WHERE d.id < ?"
        args: list[Any] = [cursor or "~"]
        for column, value in (
            ("workspace_id", flt.workspace_id),
            ("webhook_id", flt.webhook_id),
            ("status", flt.status),
            ("event_type", flt.event_type),
            ("event_id", flt.event_id),
        ):
            if value is not None:
                sql += f" AND d.{column} = ?"
                args.append(value)
        if flt.since is not None:
            sql += " AND d.created_at >= ?"
            args.append(flt.since)
        if flt.until is not None:
            sql += " AND d.created_at < ?"
            args.append(flt.until)
        if flt.stuck is not None:
            sql += f" AND {'' if flt.stuck else 'NOT '}{rows.STUCK_WHERE}"
        if flt.q:
            pattern = rows.like(flt.q)
            sql += (
                " AND (d.event_id LIKE ? ESCAPE '\\' OR d.event_type LIKE ? ESCAPE '\\' OR "
                "EXISTS (SELECT 1 FROM events e WHERE e.pk = d.event_pk "
                "AND e.data LIKE ? ESCAPE '\\'))"
            )
            args += [pattern, pattern, pattern]
        sql += " ORDER BY d.id DESC LIMIT ?"
        args.append(limit + 1)
        found = await self._reader.run(lambda c: c.execute(sql, args).fetchall())
        return rows.page(found, limit, "id", rows.delivery)

    async def list_event_deliveries(self, ws_id: str, event_id: str) -> list[Delivery]:
        found = await self._reader.run(
            lambda c: c.execute(
                "SELECT * FROM deliveries WHERE workspace_id = ? AND event_id = ? ORDER BY id",
                (ws_id, event_id),
            ).fetchall()
        )
        return [rows.delivery(r) for r in found]

    async def list_attempts(self, dlv_id: str) -> list[Attempt]:
        found = await self._reader.run(
            lambda c: c.execute(
                "SELECT * FROM attempts WHERE delivery_id = ? ORDER BY number, id", (dlv_id,)
            ).fetchall()
        )
        return [rows.attempt(r) for r in found]

    async def get_event_of_delivery(self, dlv_id: str) -> Event | None:
        row = await self._reader.run(
            lambda c: c.execute(
                "SELECT e.* FROM events e JOIN deliveries d ON d.event_pk = e.pk WHERE d.id = ?",
                (dlv_id,),
            ).fetchone()
        )
        return rows.event(row) if row else None

    async def trace_contexts(self, dlv_ids: list[str]) -> list[str]:
        sql = (
            f"SELECT trace_context FROM deliveries WHERE id IN ({rows.placeholders(len(dlv_ids))}) "
            "AND trace_context IS NOT NULL ORDER BY id"
        )
        found = await self._reader.run(lambda c: c.execute(sql, dlv_ids).fetchall())
        return [r["trace_context"] for r in found]

    async def resend(
        self,
        dlv_ids: list[str],
        *,
        new_ids: list[str],
        tag: str,
        now: int,
        trace_context: str | None = None,
    ) -> list[Delivery]:
        """A new delivery of the same event for each id whose webhook is not disabled."""

        def insert(c: sqlite3.Connection) -> list[Delivery]:
            created = []
            for old, new in zip(dlv_ids, new_ids, strict=True):
                row = c.execute(
                    "INSERT INTO deliveries (id, event_pk, webhook_id, workspace_id, event_id, "
                    "event_type, status, next_attempt_at, created_at, resent_from, tags, "
                    "trace_context) "
                    "SELECT ?, d.event_pk, d.webhook_id, d.workspace_id, d.event_id, d.event_type, "
                    f"{rows.INITIAL}, ?, ?, d.id, "
                    # A resent test stays a test: same envelope flag, no retries.
                    "CASE WHEN d.tags LIKE '%\"test\"%' THEN json_array('test', ?) "
                    "ELSE json_array(?) END, ? "
                    "FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id "
                    "WHERE d.id = ? AND w.status != 'disabled' RETURNING *",
                    (new, now, now, tag, tag, trace_context, old),
                ).fetchone()
                if row is not None:
                    created.append(rows.delivery(row))
            return created

        return await self._writer.write(insert)

    async def insert_test_delivery(
        self, event: Event, webhook_id: str, dlv_id: str, *, trace_context: str | None = None
    ) -> Delivery:
        def insert(c: sqlite3.Connection) -> Delivery:
            (pk,) = c.execute(
                "INSERT INTO events (id, workspace_id, type, data, created_at) "
                "VALUES (?,?,?,?,?) RETURNING pk",
                (event.id, event.workspace_id, event.type, event.data_json, event.created_at),
            ).fetchone()
            row = c.execute(
                "INSERT INTO deliveries (id, event_pk, webhook_id, workspace_id, event_id, "
                "event_type, status, next_attempt_at, created_at, tags, trace_context) "
                "VALUES (?,?,?,?,?,?,'pending',?,?,'[\"test\"]',?) RETURNING *",
                (
                    dlv_id,
                    pk,
                    webhook_id,
                    event.workspace_id,
                    event.id,
                    event.type,
                    event.created_at,
                    event.created_at,
                    trace_context,
                ),
            ).fetchone()
            return rows.delivery(row)

        return await self._writer.write(insert)

    async def recoverable(
        self, wh_id: str, *, since: int, until: int | None, statuses: list[DeliveryStatus]
    ) -> list[str]:
        sql = (
            "SELECT id FROM deliveries WHERE webhook_id = ? AND created_at >= ? "
            f"AND status IN ({rows.placeholders(len(statuses))})"
        )
        args: list[Any] = [wh_id, since, *statuses]
        if until is not None:
            sql += " AND created_at < ?"
            args.append(until)
        found = await self._reader.run(lambda c: c.execute(sql + " ORDER BY id", args).fetchall())
        return [r["id"] for r in found]

    async def webhook_health(self, wh_ids: list[str]) -> dict[str, EndpointHealth]:
        if not wh_ids:
            return {}
        sql = HEALTH_SQL.format(ids=rows.placeholders(len(wh_ids)))
        found = await self._reader.run(lambda c: c.execute(sql, wh_ids).fetchall())
        return {
            r["webhook_id"]: EndpointHealth(
                last_outcome=DeliveryStatus(r["status"]),
                last_at=r["completed_at"],
                failure_streak=r["streak"],
            )
            for r in found
        }
