"""Deliveries and attempts as the Send Logs show them; resend, recover and test deliveries."""

from __future__ import annotations

import json

from hookline.domain.models import Attempt, Delivery, DeliveryStatus, Event
from hookline.store import records
from hookline.store.port import DeliveryFilter, EndpointHealth, Page
from hookline.store.postgres.base import INITIAL, Queries, notify_work
from hookline.store.postgres.connection import Params

_RESEND = (
    "INSERT INTO deliveries (id, event_pk, webhook_id, workspace_id, event_id, event_type, "
    "status, next_attempt_at, created_at, resent_from, tags, trace_context) "
    "SELECT x.new_id, d.event_pk, d.webhook_id, d.workspace_id, d.event_id, d.event_type, "
    f"{INITIAL}, $3, $3, d.id, "
    # A resent test stays a test: same envelope flag, no retries.
    "CASE WHEN d.tags LIKE '%\"test\"%' THEN $4 ELSE $5 END, $6::text "
    "FROM unnest($1::text[], $2::text[]) AS x (old_id, new_id) "
    "JOIN deliveries d ON d.id = x.old_id JOIN webhooks w ON w.id = d.webhook_id "
    "WHERE w.status <> 'disabled' RETURNING *"
)

# Per webhook: its settled deliveries numbered newest first; the streak is how many failed
# ones come before the newest success.
HEALTH_SQL = """
WITH settled AS (
    SELECT webhook_id, status, completed_at,
           ROW_NUMBER() OVER (
               PARTITION BY webhook_id ORDER BY completed_at DESC, id DESC
           ) AS n
    FROM deliveries
    WHERE webhook_id = ANY($1::text[]) AND status IN ('succeeded', 'failed')
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
        row = await self._db.fetchrow("SELECT * FROM deliveries WHERE id = $1", dlv_id)
        return records.delivery(row) if row else None

    async def list_deliveries(
        self, flt: DeliveryFilter, *, limit: int, cursor: str | None
    ) -> Page[Delivery]:
        p = Params()
        sql = f"SELECT * FROM deliveries d WHERE d.id < {p(cursor or '~')}"
        for column, value in (
            ("workspace_id", flt.workspace_id),
            ("webhook_id", flt.webhook_id),
            ("status", flt.status),
            ("event_type", flt.event_type),
            ("event_id", flt.event_id),
        ):
            if value is not None:
                sql += f" AND d.{column} = {p(value)}"
        if flt.since is not None:
            sql += f" AND d.created_at >= {p(flt.since)}"
        if flt.until is not None:
            sql += f" AND d.created_at < {p(flt.until)}"
        if flt.stuck is not None:
            sql += f" AND {'' if flt.stuck else 'NOT '}{records.STUCK_WHERE}"
        if flt.q:
            # ILIKE: case-insensitive like SQLite's LIKE; backslash escapes % and _.
            pattern = p(records.like(flt.q))
            sql += (
                f" AND (d.event_id ILIKE {pattern} ESCAPE '\\' "
                f"OR d.event_type ILIKE {pattern} ESCAPE '\\' "
                "OR EXISTS (SELECT 1 FROM events e WHERE e.pk = d.event_pk "
                f"AND e.data ILIKE {pattern} ESCAPE '\\'))"
            )
        sql += f" ORDER BY d.id DESC LIMIT {p(limit + 1)}"
        found = await self._db.fetch(sql, *p.values)
        return records.page(found, limit, "id", records.delivery)

    async def list_event_deliveries(self, ws_id: str, event_id: str) -> list[Delivery]:
        found = await self._db.fetch(
            "SELECT * FROM deliveries WHERE workspace_id = $1 AND event_id = $2 ORDER BY id",
            ws_id,
            event_id,
        )
        return [records.delivery(r) for r in found]

    async def list_attempts(self, dlv_id: str) -> list[Attempt]:
        found = await self._db.fetch(
            "SELECT * FROM attempts WHERE delivery_id = $1 ORDER BY number, id", dlv_id
        )
        return [records.attempt(r) for r in found]

    async def get_event_of_delivery(self, dlv_id: str) -> Event | None:
        row = await self._db.fetchrow(
            "SELECT e.* FROM events e JOIN deliveries d ON d.event_pk = e.pk WHERE d.id = $1",
            dlv_id,
        )
        return records.event(row) if row else None

    async def trace_contexts(self, dlv_ids: list[str]) -> list[str]:
        found = await self._db.fetch(
            "SELECT trace_context FROM deliveries WHERE id = ANY($1::text[]) "
            "AND trace_context IS NOT NULL ORDER BY id",
            dlv_ids,
        )
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
        if len(dlv_ids) != len(new_ids):
            raise ValueError("one new id per resent delivery")
        if not dlv_ids:
            return []
        async with self._db.transaction() as c:
            # Read each webhook's status only once no status change is under way (see webhooks.py).
            await c.execute(
                "SELECT 1 FROM webhooks WHERE id IN "
                "(SELECT webhook_id FROM deliveries WHERE id = ANY($1::text[])) "
                "ORDER BY id FOR KEY SHARE",
                dlv_ids,
            )
            rows = await c.fetch(
                _RESEND,
                dlv_ids,
                new_ids,
                now,
                json.dumps(["test", tag]),
                json.dumps([tag]),
                trace_context,
            )
            if any(r["status"] == "pending" for r in rows):
                await notify_work(c)
        created = {r["id"]: records.delivery(r) for r in rows}
        return [created[i] for i in new_ids if i in created]

    async def insert_test_delivery(
        self, event: Event, webhook_id: str, dlv_id: str, *, trace_context: str | None = None
    ) -> Delivery:
        async with self._db.transaction() as c:
            pk = await c.fetchval(
                "INSERT INTO events (id, workspace_id, type, data, created_at) "
                "VALUES ($1,$2,$3,$4,$5) RETURNING pk",
                event.id,
                event.workspace_id,
                event.type,
                event.data_json,
                event.created_at,
            )
            row = await c.fetchrow(
                "INSERT INTO deliveries (id, event_pk, webhook_id, workspace_id, event_id, "
                "event_type, status, next_attempt_at, created_at, tags, trace_context) "
                "VALUES ($1,$2,$3,$4,$5,$6,'pending',$7,$7,'[\"test\"]',$8) RETURNING *",
                dlv_id,
                pk,
                webhook_id,
                event.workspace_id,
                event.id,
                event.type,
                event.created_at,
                trace_context,
            )
            await notify_work(c)
        return records.delivery(row)

    async def recoverable(
        self, wh_id: str, *, since: int, until: int | None, statuses: list[DeliveryStatus]
    ) -> list[str]:
        p = Params()
        sql = (
            f"SELECT id FROM deliveries WHERE webhook_id = {p(wh_id)} "
            f"AND created_at >= {p(since)} AND status = ANY({p(statuses)}::text[])"
        )
        if until is not None:
            sql += f" AND created_at < {p(until)}"
        found = await self._db.fetch(sql + " ORDER BY id", *p.values)
        return [r["id"] for r in found]

    async def webhook_health(self, wh_ids: list[str]) -> dict[str, EndpointHealth]:
        if not wh_ids:
            return {}
        found = await self._db.fetch(HEALTH_SQL, wh_ids)
        return {
            r["webhook_id"]: EndpointHealth(
                last_outcome=DeliveryStatus(r["status"]),
                last_at=r["completed_at"],
                failure_streak=r["streak"],
            )
            for r in found
        }
