"""Deliveries and attempts as the Send Logs show them; resend, recover and test deliveries."""

from __future__ import annotations

import sqlite3
from typing import Any

from hookline.domain.models import Attempt, AttemptOutcome, Delivery, DeliveryStatus, Event
from hookline.store.port import (
    FAILURE_STREAK_LIMIT,
    HOUR_MS,
    AttemptHour,
    DeliveryFilter,
    EndpointHealth,
    Page,
)
from hookline.store.sqlite import rows
from hookline.store.sqlite.base import Queries

# A webhook's last attempt, and how many of its latest attempts failed before the newest
# success (or all of those read, when none succeeded); both by the index attempts_webhook.
LAST_ATTEMPT_SQL = """
SELECT started_at, outcome, error, json_extract(response, '$.status') AS status_code
FROM attempts WHERE webhook_id = ? ORDER BY started_at DESC, id DESC LIMIT 1
"""
STREAK_SQL = """
SELECT COALESCE(MIN(CASE WHEN outcome = 'success' THEN n END), COUNT(*) + 1) - 1 AS streak
FROM (SELECT outcome, ROW_NUMBER() OVER (ORDER BY started_at DESC, id DESC) AS n
      FROM attempts WHERE webhook_id = ? ORDER BY started_at DESC, id DESC LIMIT ?)
"""
HOURS_SQL = """
SELECT webhook_id, started_at / {hour} * {hour} AS start,
       SUM(outcome = 'success') AS succeeded, SUM(outcome != 'success') AS failed
FROM attempts WHERE webhook_id IN ({ids}) AND started_at >= ?
GROUP BY webhook_id, start ORDER BY webhook_id, start
"""
# A pending delivery's next attempt moved to now, unless a FIFO webhook's older unfinished
# delivery goes first.
RETRY_NOW_SQL = """
UPDATE deliveries SET next_attempt_at = ?
WHERE id = ? AND status = 'pending' AND NOT EXISTS (
    SELECT 1 FROM webhooks w JOIN deliveries h ON h.webhook_id = w.id
    WHERE w.id = deliveries.webhook_id AND w.ordering = 'fifo'
      AND h.status IN ('pending', 'sending', 'held') AND h.id < deliveries.id
)
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

    async def webhook_health(self, wh_ids: list[str], *, since: int) -> dict[str, EndpointHealth]:
        if not wh_ids:
            return {}

        def read(c: sqlite3.Connection) -> dict[str, EndpointHealth]:
            hours: dict[str, list[AttemptHour]] = {}
            sql = HOURS_SQL.format(hour=HOUR_MS, ids=rows.placeholders(len(wh_ids)))
            for r in c.execute(sql, (*wh_ids, since)):
                hours.setdefault(r["webhook_id"], []).append(
                    AttemptHour(start=r["start"], succeeded=r["succeeded"], failed=r["failed"])
                )
            found = {}
            for wh_id in wh_ids:
                last = c.execute(LAST_ATTEMPT_SQL, (wh_id,)).fetchone()
                if last is None:
                    continue
                (streak,) = c.execute(STREAK_SQL, (wh_id, FAILURE_STREAK_LIMIT)).fetchone()
                found[wh_id] = EndpointHealth(
                    last_outcome=AttemptOutcome(last["outcome"]),
                    last_at=last["started_at"],
                    last_status_code=last["status_code"],
                    last_error=last["error"],
                    failure_streak=streak,
                    hours=tuple(hours.get(wh_id, ())),
                )
            return found

        return await self._reader.run(read)

    async def retry_now(self, dlv_id: str, *, now: int) -> Delivery | None:
        def move(c: sqlite3.Connection) -> Delivery | None:
            c.execute(RETRY_NOW_SQL, (now, dlv_id))
            row = c.execute("SELECT * FROM deliveries WHERE id = ?", (dlv_id,)).fetchone()
            return rows.delivery(row) if row else None

        return await self._writer.write(move)
