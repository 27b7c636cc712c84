"""Deliveries and attempts as the Send Logs show them; resend, recover and test deliveries."""

from __future__ import annotations

import json

from hookline.domain.models import Attempt, AttemptOutcome, Delivery, DeliveryStatus, Event
from hookline.store import records
from hookline.store.port import (
    FAILURE_STREAK_LIMIT,
    HOUR_MS,
    AttemptHour,
    DeliveryFilter,
    EndpointHealth,
    Page,
)
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

# Per webhook: its last attempt, and how many of its latest attempts failed before the
# newest success (or all of those read, when none succeeded); both by the index
# attempts_webhook.
HEALTH_SQL = """
SELECT w.id AS webhook_id, last.started_at, last.outcome, last.error, last.status_code,
       streak.n AS streak
FROM unnest($1::text[]) AS w (id)
CROSS JOIN LATERAL (
    SELECT started_at, outcome, error, (response::jsonb ->> 'status')::int AS status_code
    FROM attempts a WHERE a.webhook_id = w.id ORDER BY started_at DESC, id DESC LIMIT 1
) AS last
CROSS JOIN LATERAL (
    SELECT COALESCE(array_position(latest, 'success'), cardinality(latest) + 1) - 1 AS n
    FROM (SELECT array(
        SELECT outcome FROM attempts a WHERE a.webhook_id = w.id
        ORDER BY started_at DESC, id DESC LIMIT $2
    ) AS latest) AS read
) AS streak
"""
HOURS_SQL = """
SELECT webhook_id, started_at / $3 * $3 AS start,
       COUNT(*) FILTER (WHERE outcome = 'success') AS succeeded,
       COUNT(*) FILTER (WHERE outcome <> 'success') AS failed
FROM attempts WHERE webhook_id = ANY($1::text[]) AND started_at >= $2
GROUP BY webhook_id, start ORDER BY webhook_id, start
"""
# A pending delivery's next attempt moved to now, unless a FIFO webhook's older unfinished
# delivery goes first.
RETRY_NOW_SQL = """
UPDATE deliveries d SET next_attempt_at = $2
WHERE d.id = $1 AND d.status = 'pending' AND NOT EXISTS (
    SELECT 1 FROM webhooks w JOIN deliveries h ON h.webhook_id = w.id
    WHERE w.id = d.webhook_id AND w.ordering = 'fifo'
      AND h.status IN ('pending', 'sending', 'held') AND h.id < d.id
)
RETURNING d.id
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
        ):
            if value is not None:
                sql += f" AND d.{column} = {p(value)}"
        if flt.event_id is not None:
            # By the event's id, then its deliveries (deliveries_event).
            sql += f" AND d.event_pk IN (SELECT e.pk FROM events e WHERE e.id = {p(flt.event_id)})"
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
            "SELECT d.* FROM events e JOIN deliveries d ON d.event_pk = e.pk "
            "WHERE e.workspace_id = $1 AND e.id = $2 ORDER BY d.id",
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

    async def webhook_health(self, wh_ids: list[str], *, since: int) -> dict[str, EndpointHealth]:
        if not wh_ids:
            return {}
        hours: dict[str, list[AttemptHour]] = {}
        for r in await self._db.fetch(HOURS_SQL, wh_ids, since, HOUR_MS):
            hours.setdefault(r["webhook_id"], []).append(
                AttemptHour(start=r["start"], succeeded=r["succeeded"], failed=r["failed"])
            )
        found = await self._db.fetch(HEALTH_SQL, wh_ids, FAILURE_STREAK_LIMIT)
        return {
            r["webhook_id"]: EndpointHealth(
                last_outcome=AttemptOutcome(r["outcome"]),
                last_at=r["started_at"],
                last_status_code=r["status_code"],
                last_error=r["error"],
                failure_streak=r["streak"],
                hours=tuple(hours.get(r["webhook_id"], ())),
            )
            for r in found
        }

    async def retry_now(self, dlv_id: str, *, now: int) -> Delivery | None:
        async with self._db.transaction() as c:
            if await c.fetchval(RETRY_NOW_SQL, dlv_id, now) is not None:
                await notify_work(c)
            row = await c.fetchrow("SELECT * FROM deliveries WHERE id = $1", dlv_id)
        return records.delivery(row) if row else None
