"""Events: idempotent ingestion with fan-out to deliveries, and event reads.

A batch is a handful of statements whatever its size: the events in one
``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING``, their deliveries in
another. The webhooks are locked ``FOR KEY SHARE`` (in id order) before their
status is read, so a concurrent pause either waits for this batch or is seen by it.
"""

from __future__ import annotations

from collections import Counter

from hookline.domain.models import Event
from hookline.store import records
from hookline.store.port import Inserted, NewEvent, Page
from hookline.store.postgres.base import INITIAL, Queries, notify_work
from hookline.store.postgres.connection import Connection, Params

_INSERT_EVENTS = (
    "INSERT INTO events (id, workspace_id, type, data, created_at) "
    "SELECT id, workspace_id, type, data, created_at FROM unnest("
    "$1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) WITH ORDINALITY "
    "AS t (id, workspace_id, type, data, created_at, n) ORDER BY n "
    "ON CONFLICT (workspace_id, id) DO NOTHING RETURNING workspace_id, id, pk"
)
_INSERT_DELIVERIES = (
    "INSERT INTO deliveries (id, event_pk, webhook_id, workspace_id, event_id, event_type, "
    "status, next_attempt_at, created_at) "
    f"SELECT x.id, x.event_pk, w.id, w.workspace_id, x.event_id, x.event_type, {INITIAL}, "
    "x.created_at, x.created_at FROM unnest("
    "$1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[]) "
    "AS x (id, event_pk, webhook_id, event_id, event_type, created_at) "
    "JOIN webhooks w ON w.id = x.webhook_id WHERE w.status <> 'disabled' "
    "RETURNING event_pk, status"
)
_EXISTING = (
    "SELECT e.*, (SELECT count(*) FROM deliveries d WHERE d.event_pk = e.pk "
    "AND d.resent_from IS NULL) AS n FROM events e "
    "JOIN unnest($1::text[], $2::text[]) AS k (workspace_id, id) "
    "ON e.workspace_id = k.workspace_id AND e.id = k.id"
)


class EventQueries(Queries):
    async def insert_events(self, batch: list[NewEvent]) -> list[Inserted]:
        """Insert each event with one delivery per webhook; a known (workspace, id) inserts nothing."""
        if not batch:
            return []
        async with self._db.transaction() as c:
            return await _insert(c, batch)

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


async def _insert(c: Connection, batch: list[NewEvent]) -> list[Inserted]:
    hooks = sorted({wh for item in batch for wh in item.webhook_ids})
    if hooks:
        await c.execute(
            "SELECT 1 FROM webhooks WHERE id = ANY($1::text[]) ORDER BY id FOR KEY SHARE", hooks
        )
    events = [item.event for item in batch]
    created = await c.fetch(
        _INSERT_EVENTS,
        [e.id for e in events],
        [e.workspace_id for e in events],
        [e.type for e in events],
        [e.data_json for e in events],
        [e.created_at for e in events],
    )
    pks = {(r["workspace_id"], r["id"]): r["pk"] for r in created}

    # The first item of each inserted key created it; the others repeat it.
    creators: dict[int, int] = {}  # batch index → event pk
    for n, ev in enumerate(events):
        pk = pks.pop((ev.workspace_id, ev.id), None)
        if pk is not None:
            creators[n] = pk
    counts = await _fan_out(c, batch, creators)

    repeats = [ev for n, ev in enumerate(events) if n not in creators]
    existing = {}
    if repeats:
        rows = await c.fetch(_EXISTING, [e.workspace_id for e in repeats], [e.id for e in repeats])
        existing = {(r["workspace_id"], r["id"]): r for r in rows}
    results = []
    for n, ev in enumerate(events):
        if n in creators:
            results.append(Inserted(event=ev, created=True, deliveries=counts[creators[n]]))
        else:
            row = existing[(ev.workspace_id, ev.id)]
            results.append(Inserted(event=records.event(row), created=False, deliveries=row["n"]))
    return results


async def _fan_out(c: Connection, batch: list[NewEvent], creators: dict[int, int]) -> Counter[int]:
    """Insert the deliveries of the created events; how many each got (by event pk)."""
    columns: tuple[list[object], ...] = ([], [], [], [], [], [])
    for n, pk in creators.items():
        item = batch[n]
        ev = item.event
        for wh_id, dlv_id in zip(item.webhook_ids, item.delivery_ids, strict=True):
            for column, value in zip(
                columns, (dlv_id, pk, wh_id, ev.id, ev.type, ev.created_at), strict=True
            ):
                column.append(value)
    counts: Counter[int] = Counter()
    if not columns[0]:
        return counts
    inserted = await c.fetch(_INSERT_DELIVERIES, *columns)
    counts.update(r["event_pk"] for r in inserted)
    if any(r["status"] == "pending" for r in inserted):
        await notify_work(c)
    return counts
