"""The dispatch queue: claim due deliveries under a lease, record attempts, give claims back.

SQLite has no ``SKIP LOCKED``: a claim is one ``UPDATE … RETURNING`` inside a
``BEGIN IMMEDIATE`` transaction, which serializes claimers across processes.
A claim holds ``lease_owner``/``lease_until``; only the owner's record changes
the delivery (fencing), and an expired lease returns the delivery to the queue.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Mapping
from typing import Any

from hookline.ids import now_ms
from hookline.store.port import AttemptRecord, Claim
from hookline.store.sqlite import rows
from hookline.store.sqlite.base import Queries


class QueueQueries(Queries):
    async def claim_due(
        self,
        owner: str,
        *,
        limit: int,
        now: int,
        lease_ms: int,
        busy: Mapping[str, int] | None = None,
        per_webhook: int | None = None,
    ) -> list[Claim]:
        """Claim up to ``limit`` due deliveries, oldest due first, under a lease.

        A webhook gets at most ``per_webhook`` minus its ``busy`` count (this
        worker's attempts in flight to it); a ``fifo`` webhook only its oldest
        unfinished delivery, and only when none is in flight; a rate-limited
        webhook one attempt per ``1/rateLimit`` seconds across all workers (the
        rest are pushed to the next free slot).
        """
        # A copy taken now, on the caller's thread: the caller's live counter changes while
        # the claim runs on the writer thread, and iterating it there could fail.
        busy = dict(busy or {})
        cap = per_webhook or limit

        def claim(c: sqlite3.Connection) -> list[Claim]:
            full = {wh for wh, n in busy.items() if n >= cap}
            taken: Counter[str] = Counter()
            found: list[sqlite3.Row] = []
            # Usually one round. When the window was all backlog of webhooks that this claim
            # filled up, read again without them, so their backlog cannot crowd out the rest.
            while len(found) < limit:
                window = (limit - len(found)) * _OVERSELECT
                candidates = c.execute(
                    _CANDIDATES.format(skip=rows.placeholders(len(full))),
                    (now, *full, window),
                ).fetchall()
                chosen = _choose(
                    c,
                    candidates,
                    now=now,
                    limit=limit - len(found),
                    cap=cap,
                    busy=busy,
                    taken=taken,
                )
                if chosen:
                    found += c.execute(
                        "UPDATE deliveries SET status = 'sending', lease_owner = ?, lease_until = ? "
                        f"WHERE id IN ({rows.placeholders(len(chosen))}) "
                        "RETURNING id, attempt_count, tags, event_pk, webhook_id, next_attempt_at",
                        (owner, now + lease_ms, *chosen),
                    ).fetchall()
                filled = {wh for wh in taken if busy.get(wh, 0) + taken[wh] >= cap} - full
                if len(candidates) < window or not filled:
                    break
                full |= filled
            if not found:
                return []
            found.sort(key=lambda r: (r["next_attempt_at"], r["id"]))
            return _claims(c, found)

        return await self._writer.write(claim)

    async def record_attempts(self, owner: str, records: list[AttemptRecord]) -> list[str]:
        """Store the attempts and apply their decisions; return the webhooks this paused.

        An attempt is logged while its delivery exists (the request did go out),
        but only a record by the lease owner changes the delivery or pauses its
        webhook: a worker whose lease expired cannot overwrite the next worker's work.
        """

        def record(c: sqlite3.Connection) -> list[str]:
            # Whether a record may pause its webhook must be read before the leases are cleared.
            pausing = [r.webhook_id for r in records if r.pause_webhook and _owns(c, owner, r)]
            c.executemany(_INSERT_ATTEMPT, [_attempt_args(r) for r in records])
            c.executemany(_APPLY_DECISION, [_decision_args(owner, r) for r in records])
            paused = []
            now = now_ms()
            for wh_id in dict.fromkeys(pausing):
                changed = c.execute(
                    "UPDATE webhooks SET status = 'paused', status_reason = 'too_many_failures', "
                    "status_changed_by = 'system', status_changed_at = ?, updated_at = ? "
                    "WHERE id = ? AND status = 'active'",
                    (now, now, wh_id),
                ).rowcount
                if changed:
                    c.execute(
                        "UPDATE deliveries SET status = 'held' "
                        "WHERE webhook_id = ? AND status = 'pending'",
                        (wh_id,),
                    )
                    paused.append(wh_id)
            return paused

        return await self._writer.write(record)

    async def release(self, owner: str, dlv_ids: list[str]) -> None:
        """Give claimed deliveries back unattempted (held if their webhook is no longer active)."""
        if not dlv_ids:
            return
        await self._writer.write(
            lambda c: c.execute(
                f"UPDATE deliveries SET status = {rows.REQUEUE}, lease_owner = NULL, "
                "lease_until = NULL WHERE status = 'sending' AND lease_owner = ? "
                f"AND id IN ({rows.placeholders(len(dlv_ids))})",
                (owner, *dlv_ids),
            )
        )

    async def renew_leases(self, owner: str, *, until: int) -> None:
        await self._writer.write(
            lambda c: c.execute(
                "UPDATE deliveries SET lease_until = ? WHERE lease_owner = ? AND status = 'sending'",
                (until, owner),
            )
        )

    async def reclaim_expired(self, now: int) -> int:
        """Return deliveries whose lease ran out to the queue; how many."""
        return await self._writer.write(
            lambda c: (
                c.execute(
                    f"UPDATE deliveries SET status = {rows.REQUEUE}, lease_owner = NULL, "
                    "lease_until = NULL WHERE status = 'sending' AND lease_until < ?",
                    (now,),
                ).rowcount
            )
        )

    async def next_due_at(self, *, after: int | None = None) -> int | None:
        """When the first pending delivery comes due (of those due later than ``after``)."""
        sql = "SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'"
        args: tuple[int, ...] = ()
        if after is not None:
            sql += " AND next_attempt_at > ?"
            args = (after,)
        row = await self._reader.run(lambda c: c.execute(sql, args).fetchone())
        return row[0] if row else None

    async def queue_stats(self) -> tuple[dict[str, int], int | None]:
        def stats(c: sqlite3.Connection) -> tuple[dict[str, int], int | None]:
            counts = {
                r[0]: r[1]
                for r in c.execute(
                    "SELECT status, count(*) FROM deliveries "
                    "WHERE status IN ('pending', 'held', 'sending') GROUP BY status"
                )
            }
            (oldest,) = c.execute(
                "SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'"
            ).fetchone()
            return counts, oldest

        return await self._reader.run(stats)

    async def purge_expired(self, before: int, *, batch: int) -> int:
        """Delete up to ``batch`` events older than ``before`` with their deliveries and attempts."""

        def purge(c: sqlite3.Connection) -> int:
            pks = [
                r[0]
                for r in c.execute(
                    "SELECT pk FROM events WHERE created_at < ? LIMIT ?", (before, batch)
                )
            ]
            if not pks:
                return 0
            marks = rows.placeholders(len(pks))
            c.execute(f"DELETE FROM deliveries WHERE event_pk IN ({marks})", pks)
            return c.execute(f"DELETE FROM events WHERE pk IN ({marks})", pks).rowcount

        return await self._writer.write(purge)


# Due deliveries in queue order, skipping webhooks this worker has saturated and, for FIFO
# webhooks, every delivery but the oldest unfinished one.
_CANDIDATES = (
    "SELECT d.id, d.webhook_id, w.rate_limit, w.rate_next_at FROM deliveries d "
    "JOIN webhooks w ON w.id = d.webhook_id "
    "WHERE d.status = 'pending' AND d.next_attempt_at <= ? "
    "AND d.webhook_id NOT IN ({skip}) "
    "AND (w.ordering != 'fifo' OR NOT EXISTS (SELECT 1 FROM deliveries h "
    "WHERE h.webhook_id = d.webhook_id AND h.status IN ('pending', 'sending', 'held') "
    "AND h.id != d.id AND (h.id < d.id OR h.status = 'sending'))) "
    "ORDER BY d.next_attempt_at, d.id LIMIT ?"
)
# Candidates read per claimed slot, so that one webhook's backlog cannot fill a whole batch.
_OVERSELECT = 4


def _choose(
    c: sqlite3.Connection,
    candidates: list[sqlite3.Row],
    *,
    now: int,
    limit: int,
    cap: int,
    busy: Mapping[str, int],
    taken: Counter[str],
) -> list[str]:
    """Pick the deliveries to claim; reserve rate-limit slots and push the rest to theirs.

    ``taken`` counts, per webhook, what this claim already took (it is updated).
    A rate-limited webhook's next free moment is ``rate_next_at``; each of its
    candidates gets the next slot in turn: the one whose slot is now is claimed,
    the others wait until their own slot, so they come due one interval apart.
    """
    chosen: list[str] = []
    next_slot: dict[str, int] = {}
    reserved: dict[str, int] = {}
    deferred: list[tuple[int, str]] = []
    for row in candidates:
        wh_id = row["webhook_id"]
        if len(chosen) >= limit or busy.get(wh_id, 0) + taken[wh_id] >= cap:
            continue
        if row["rate_limit"]:
            interval = max(1, round(1000 / row["rate_limit"]))
            slot = next_slot.get(wh_id) or max(row["rate_next_at"] or 0, now)
            next_slot[wh_id] = slot + interval
            if slot > now:
                deferred.append((slot, row["id"]))
                continue
            reserved[wh_id] = slot + interval
        chosen.append(row["id"])
        taken[wh_id] += 1
    c.executemany(
        "UPDATE webhooks SET rate_next_at = ? WHERE id = ?",
        [(until, wh_id) for wh_id, until in reserved.items()],
    )
    c.executemany("UPDATE deliveries SET next_attempt_at = ? WHERE id = ?", deferred)
    return chosen


def _claims(c: sqlite3.Connection, found: list[sqlite3.Row]) -> list[Claim]:
    events = rows.by_key(c, "events", "pk", {r["event_pk"] for r in found})
    hooks = rows.by_key(c, "webhooks", "id", {r["webhook_id"] for r in found})
    spaces = rows.by_key(c, "workspaces", "id", {h["workspace_id"] for h in hooks.values()})
    return [
        Claim(
            delivery_id=r["id"],
            attempt=r["attempt_count"] + 1,
            tags=json.loads(r["tags"]),
            event=rows.event(events[r["event_pk"]]),
            webhook=rows.webhook(hooks[r["webhook_id"]]),
            webhook_secret=hooks[r["webhook_id"]]["secret"],
            signing_key=hooks[r["webhook_id"]]["signing_key"],
            previous_keys=json.loads(hooks[r["webhook_id"]]["previous_keys"]),
            workspace_settings=json.loads(
                spaces[hooks[r["webhook_id"]]["workspace_id"]]["settings"]
            ),
        )
        for r in found
    ]


_INSERT_ATTEMPT = (
    "INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, request, "
    "response, error, outcome) SELECT ?,?,?,?,?,?,?,?,? "
    "WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = ?)"
)
_APPLY_DECISION = (
    "UPDATE deliveries SET "
    f"status = CASE WHEN ? = 'pending' THEN {rows.REQUEUE} ELSE ? END, "
    "attempt_count = attempt_count + 1, next_attempt_at = ?, last_status_code = ?, "
    "last_error = ?, completed_at = ?, lease_owner = NULL, lease_until = NULL "
    "WHERE id = ? AND lease_owner = ?"
)


def _attempt_args(r: AttemptRecord) -> tuple[Any, ...]:
    a = r.attempt
    return (
        a.id,
        a.delivery_id,
        a.number,
        a.started_at,
        a.duration_ms,
        json.dumps(a.request),
        rows.json_or_none(a.response),
        a.error,
        a.outcome,
        a.delivery_id,
    )


def _decision_args(owner: str, r: AttemptRecord) -> tuple[Any, ...]:
    return (
        r.status,
        r.status,
        r.next_attempt_at,
        r.status_code,
        r.error,
        r.completed_at,
        r.attempt.delivery_id,
        owner,
    )


def _owns(c: sqlite3.Connection, owner: str, r: AttemptRecord) -> bool:
    row = c.execute(
        "SELECT 1 FROM deliveries WHERE id = ? AND lease_owner = ?",
        (r.attempt.delivery_id, owner),
    ).fetchone()
    return row is not None
