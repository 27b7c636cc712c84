"""The rest of the dispatch queue: record attempts (fenced), release, renew, reclaim, purge.

A claim holds ``lease_owner``/``lease_until``; only the owner's record changes
the delivery (fencing), and an expired lease returns the delivery to the queue.

Whatever puts a delivery back (a retry, a release, an expired lease) reads its
webhook's status to choose pending or held; it first locks the webhook ``FOR
SHARE`` (in id order), so a concurrent pause, which locks it ``FOR UPDATE``,
either waits and then holds it, or is seen. Recording a pause locks its webhook
``FOR UPDATE`` like any status change. Locks are taken webhooks first, then
deliveries, in every transaction that waits for locks, so none can deadlock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from hookline.domain.statuses import StopReason
from hookline.ids import now_ms
from hookline.store import records
from hookline.store.port import AttemptRecord, QueueStats
from hookline.store.postgres.base import HOLD, REQUEUE, Queries, notify_work
from hookline.store.postgres.connection import Connection, rowcount

# A whole batch in one statement, its columns passed as arrays (executemany would run a
# statement per record): the attempts are logged, each while its delivery exists, and only
# the lease owner's record changes its delivery.
_RECORD = (
    "WITH logged AS (INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, "
    "request, response, error, outcome, webhook_id) SELECT a.* FROM unnest($1::text[], "
    "$2::text[], $3::int[], $4::bigint[], $5::float8[], $6::text[], $7::text[], $8::text[], "
    "$9::text[], $10::text[]) AS a(id, delivery_id, number, started_at, duration_ms, request, "
    "response, error, outcome, webhook_id) "
    "WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.delivery_id)) "
    "UPDATE deliveries SET "
    f"status = CASE WHEN r.status = 'pending' THEN {REQUEUE} ELSE r.status END, "
    "attempt_count = attempt_count + 1, next_attempt_at = r.next_attempt_at, "
    "last_status_code = r.status_code, last_error = r.error, completed_at = r.completed_at, "
    "internal_faults = 0, lease_owner = NULL, lease_until = NULL "
    "FROM unnest($11::text[], $12::bigint[], $13::int[], $14::text[], $15::bigint[], "
    "$16::text[]) AS r(status, next_attempt_at, status_code, error, completed_at, id) "
    "WHERE deliveries.id = r.id AND deliveries.lease_owner = $17"
)
_STOP = (
    "UPDATE webhooks SET status = $1, status_reason = $2, "
    "status_changed_by = 'system', status_changed_at = $3, updated_at = $3 "
    "WHERE id = $4 AND status = ANY($5::text[])"
)


class QueueQueries(Queries):
    async def record_attempts(
        self, owner: str, records: list[AttemptRecord]
    ) -> list[tuple[str, StopReason]]:
        """Store the attempts and apply their decisions (see the port).

        An attempt is logged while its delivery exists (the request did go out),
        but only a record by the lease owner changes the delivery or stops its
        webhook: a worker whose lease expired cannot overwrite the next worker's work.
        """
        if not records:
            return []
        # The webhooks whose status this batch reads (retries) or changes (stops).
        guarded = sorted(
            {r.webhook_id for r in records if r.status == "pending" or r.stop_webhook is not None}
        )
        if not guarded:
            # Nothing to lock first: one statement, one round trip, its own transaction.
            await self._db.execute(_RECORD, *_record_args(owner, records))
            return []
        async with self._db.transaction() as c:
            return await _record(c, owner, records, guarded)

    async def track_outcomes(
        self, *, failed: list[str], succeeded: list[str], now: int
    ) -> list[str]:
        if not failed and not succeeded:
            return []
        async with self._db.transaction() as c:
            if failed:
                await c.execute(
                    "INSERT INTO webhook_failing (webhook_id, since) SELECT id, $1 FROM webhooks "
                    "WHERE id = ANY($2::text[]) ORDER BY id ON CONFLICT (webhook_id) DO NOTHING",
                    now,
                    failed,
                )
            if not succeeded:
                return []
            found = await c.fetch(
                "DELETE FROM webhook_failing WHERE webhook_id = ANY($1::text[]) RETURNING webhook_id",
                succeeded,
            )
            return [str(r["webhook_id"]) for r in found]

    async def release(self, owner: str, dlv_ids: list[str]) -> None:
        """Give claimed deliveries back unattempted (held if their webhook is no longer active)."""
        if not dlv_ids:
            return
        async with self._db.transaction() as c:
            await c.execute(
                "SELECT 1 FROM webhooks WHERE id IN (SELECT webhook_id FROM deliveries "
                "WHERE id = ANY($1::text[]) AND lease_owner = $2 AND status = 'sending') "
                "ORDER BY id FOR SHARE",
                dlv_ids,
                owner,
            )
            back = await c.fetch(
                f"UPDATE deliveries SET status = {REQUEUE}, lease_owner = NULL, "
                "lease_until = NULL WHERE status = 'sending' AND lease_owner = $1 "
                "AND id = ANY($2::text[]) RETURNING status",
                owner,
                dlv_ids,
            )
            if any(r["status"] == "pending" for r in back):
                await notify_work(c)

    async def renew_leases(self, owner: str, *, until: int) -> None:
        await self._db.execute(
            "UPDATE deliveries SET lease_until = $1 WHERE lease_owner = $2 AND status = 'sending'",
            until,
            owner,
        )

    async def reclaim_expired(self, now: int) -> int:
        """Return deliveries whose lease ran out to the queue; how many."""
        async with self._db.transaction() as c:
            hooks = [
                r["id"]
                for r in await c.fetch(
                    "SELECT id FROM webhooks WHERE id IN (SELECT webhook_id FROM deliveries "
                    "WHERE status = 'sending' AND lease_until < $1) ORDER BY id FOR SHARE",
                    now,
                )
            ]
            if not hooks:
                return 0
            back = await c.fetch(
                f"UPDATE deliveries SET status = {REQUEUE}, lease_owner = NULL, "
                "lease_until = NULL WHERE status = 'sending' AND lease_until < $1 "
                "AND webhook_id = ANY($2::text[]) RETURNING status",
                now,
                hooks,
            )
            if any(r["status"] == "pending" for r in back):
                await notify_work(c)
            return len(back)

    async def next_due_at(self, *, after: int | None = None) -> int | None:
        """When the first pending delivery comes due (of those due later than ``after``)."""
        if after is None:
            due = await self._db.fetchval(
                "SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'"
            )
        else:
            due = await self._db.fetchval(
                "SELECT min(next_attempt_at) FROM deliveries "
                "WHERE status = 'pending' AND next_attempt_at > $1",
                after,
            )
        return None if due is None else int(due)

    async def queue_stats(self) -> QueueStats:
        """Unfinished deliveries by status, the earliest due time of a pending one, and how
        many are stuck."""
        rows = await self._db.fetch(
            "SELECT status, count(*) AS n, min(next_attempt_at) AS due, "
            f"count(*) FILTER (WHERE {records.STUCK_WHERE}) AS stuck FROM deliveries "
            "WHERE status IN ('pending', 'held', 'sending') GROUP BY status"
        )
        return QueueStats(
            counts={r["status"]: r["n"] for r in rows},
            oldest_due=next((r["due"] for r in rows if r["status"] == "pending"), None),
            stuck=sum(r["stuck"] for r in rows),
        )

    async def purge_expired(self, before: int, *, batch: int) -> int:
        """Delete up to ``batch`` events older than ``before`` with their deliveries and attempts.

        Deliveries and attempts go by cascade (``rotate_partitions`` has dropped the days of
        attempts wholly older than ``before`` already, so few remain). Events another purger is
        deleting are skipped.
        """
        return await self._db.execute(
            "DELETE FROM events WHERE pk IN (SELECT pk FROM events WHERE created_at < $1 "
            "LIMIT $2 FOR UPDATE SKIP LOCKED)",
            before,
            batch,
        )

    async def defer(self, owner: str, dlv_id: str, *, until: int, error: str) -> bool:
        """Give a claimed delivery back to be tried at ``until``, without an attempt (see the port)."""
        async with self._db.transaction() as c:
            await c.execute(
                "SELECT 1 FROM webhooks WHERE id = (SELECT webhook_id FROM deliveries "
                "WHERE id = $1 AND lease_owner = $2 AND status = 'sending') FOR SHARE",
                dlv_id,
                owner,
            )
            back = await c.fetchval(
                f"UPDATE deliveries SET status = {REQUEUE}, next_attempt_at = $1, "
                "last_error = $2, internal_faults = internal_faults + 1, lease_owner = NULL, "
                "lease_until = NULL WHERE id = $3 AND status = 'sending' AND lease_owner = $4 "
                "RETURNING status",
                until,
                error,
                dlv_id,
                owner,
            )
            return back is not None


async def _record(
    c: Connection, owner: str, batch: list[AttemptRecord], guarded: list[str]
) -> list[tuple[str, StopReason]]:
    """Record ``batch`` after locking the ``guarded`` webhooks it reads or stops."""
    stopping = [r for r in batch if r.stop_webhook is not None]
    mode = "UPDATE" if stopping else "SHARE"
    await c.execute(
        f"SELECT 1 FROM webhooks WHERE id = ANY($1::text[]) ORDER BY id FOR {mode}", guarded
    )
    # Whether a record may stop its webhook must be read before the leases are cleared.
    to_stop: list[tuple[str, StopReason]] = []
    if stopping:
        owned = {
            r["id"]
            for r in await c.fetch(
                "SELECT id FROM deliveries WHERE id = ANY($1::text[]) AND lease_owner = $2 "
                "FOR UPDATE",
                [r.attempt.delivery_id for r in stopping],
                owner,
            )
        }
        to_stop = [
            (r.webhook_id, r.stop_webhook)
            for r in stopping
            if r.stop_webhook is not None and r.attempt.delivery_id in owned
        ]
    await c.execute(_RECORD, *_record_args(owner, batch))
    stopped = []
    now = now_ms()
    for wh_id, reason in dict.fromkeys(to_stop):
        changed = await c.execute(
            _STOP, reason.status.value, reason.value, now, wh_id, list(reason.stops)
        )
        if rowcount(changed):
            await c.execute(HOLD, wh_id)
            stopped.append((wh_id, reason))
    return stopped


def _record_args(owner: str, batch: list[AttemptRecord]) -> list[Any]:
    """The arguments of ``_RECORD``: the attempts' columns, the decisions' columns, the owner."""
    return [
        *_columns(_attempt_args(r) for r in batch),
        *_columns(_decision_args(r) for r in batch),
        owner,
    ]


def _attempt_args(r: AttemptRecord) -> tuple[Any, ...]:
    a = r.attempt
    return (
        a.id,
        a.delivery_id,
        a.number,
        a.started_at,
        a.duration_ms,
        json.dumps(a.request),
        records.json_or_none(a.response),
        a.error,
        a.outcome,
        r.webhook_id,
    )


def _decision_args(r: AttemptRecord) -> tuple[Any, ...]:
    return (
        r.status,
        r.next_attempt_at,
        r.status_code,
        r.error,
        r.completed_at,
        r.attempt.delivery_id,
    )


def _columns(rows: Iterable[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows of arguments as one list per column, the arrays a batch statement unnests."""
    return [list(column) for column in zip(*rows, strict=True)]
