"""The dispatch queue: claim due deliveries under a lease, record attempts, give claims back.

SQLite has no ``SKIP LOCKED``: a claim is one ``UPDATE … RETURNING`` inside a
``BEGIN IMMEDIATE`` transaction, which serializes claimers across processes.
A claim holds ``lease_owner``/``lease_until``; only the owner's record changes
the delivery (fencing), and an expired lease returns the delivery to the queue.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from hookline.domain import scheduling
from hookline.domain.statuses import StopReason
from hookline.ids import now_ms
from hookline.secrets import SecretBox
from hookline.store.port import AttemptRecord, Claim, QueueStats
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
        busy_workspaces: Mapping[str, int] | None = None,
        per_workspace: int | None = None,
        windows: Mapping[str, int] | None = None,
        expired: list[str] | None = None,
    ) -> list[Claim]:
        """Claim up to ``limit`` due deliveries, oldest due first, under a lease.

        A due delivery whose event expired is not taken: it ends ``expired`` (its id added
        to ``expired``, when given).

        A webhook gets at most ``per_webhook`` (or, with ``windows``, its window) minus
        its ``busy`` count (this worker's attempts in flight to it), a workspace at most ``per_workspace``
        minus its ``busy_workspaces`` count; a ``fifo`` webhook only its oldest
        unfinished delivery, and only when none is in flight; a rate-limited
        webhook one attempt per ``1/rateLimit`` seconds across all workers (the
        rest are pushed to the next free slot). See hookline.domain.scheduling.
        """
        # Copies taken now, on the caller's thread: the caller's live counters change while
        # the claim runs on the writer thread, and iterating them there could fail.
        slots = scheduling.Slots(
            per_webhook=per_webhook or limit,
            per_workspace=per_workspace or limit,
            webhooks=dict(busy or {}),
            workspaces=dict(busy_workspaces or {}),
            windows=None if windows is None else dict(windows),
        )

        ended: list[str] = []

        def claim(c: sqlite3.Connection) -> _Claimed:
            # The oldest due deliveries of all webhooks: usually enough.
            window = limit * _OVERSELECT
            candidates = _candidates(c, _DUE, (now, window))
            choice = _choose(c, candidates, slots, now=now, limit=limit)
            chosen = choice.chosen
            if len(chosen) < limit and len(candidates) == window:
                # The window was backlog of webhooks (or workspaces) at their cap. Rather than
                # read on past it (a long backlog made every claim slow), take each other
                # webhook's own oldest.
                seen = {r.id for r in candidates}
                full, spaces = sorted(choice.full), sorted(choice.full_workspaces)
                more = _candidates(
                    c,
                    _DUE_PER_WEBHOOK.format(
                        skip=rows.placeholders(len(full)),
                        skip_workspaces=rows.placeholders(len(spaces)),
                    ),
                    (*full, *spaces, now, slots.per_webhook),
                )
                again = _choose(
                    c,
                    [r for r in more if r.id not in seen],
                    choice.slots,
                    now=now,
                    limit=limit - len(chosen),
                )
                chosen += again.chosen
                ended.extend(again.expired)
            ended.extend(choice.expired)
            if not chosen:
                return [], {}, {}, {}
            marks = rows.placeholders(len(chosen))
            c.execute(
                "UPDATE deliveries SET status = 'sending', lease_owner = ?, lease_until = ? "
                f"WHERE id IN ({marks})",
                (owner, now + lease_ms, *chosen),
            )
            found = rows.select_json(
                c, "deliveries", f"SELECT * FROM deliveries WHERE id IN ({marks})", chosen
            )
            found.sort(key=lambda r: (r["next_attempt_at"], r["id"]))
            return _claimed_rows(c, found)

        # Mapped to claims after the commit: work done under the write lock holds up every
        # other process's writes.
        claimed = await self._writer.write(claim)
        if expired is not None:
            expired += ended
        return _claims(*claimed, box=self._box)

    async def record_attempts(
        self, owner: str, records: list[AttemptRecord]
    ) -> list[tuple[str, StopReason]]:
        """Store the attempts and apply their decisions (see the port).

        An attempt is logged while its delivery exists (the request did go out),
        but only a record by the lease owner changes the delivery or stops its
        webhook: a worker whose lease expired cannot overwrite the next worker's work.
        """

        # One statement each for the whole batch (see rows.select_json on why not executemany),
        # their arguments encoded here rather than under the write lock.
        attempts = json.dumps([_attempt_args(r) for r in records])
        decisions = json.dumps([_decision_args(r) for r in records])

        def record(c: sqlite3.Connection) -> list[tuple[str, StopReason]]:
            # Whether a record may stop its webhook must be read before the leases are cleared.
            stopping = [
                (r.webhook_id, r.stop_webhook)
                for r in records
                if r.stop_webhook is not None and _owns(c, owner, r)
            ]
            c.execute(_INSERT_ATTEMPTS, (attempts,))
            c.execute(_APPLY_DECISIONS, (decisions, owner))
            stopped = []
            now = now_ms()
            for wh_id, reason in dict.fromkeys(stopping):
                changed = c.execute(
                    "UPDATE webhooks SET status = ?, status_reason = ?, "
                    "status_changed_by = 'system', status_changed_at = ?, updated_at = ? "
                    f"WHERE id = ? AND status IN ({rows.placeholders(len(reason.stops))})",
                    (reason.status.value, reason.value, now, now, wh_id, *reason.stops),
                ).rowcount
                if changed:
                    c.execute(rows.HOLD, (wh_id,))
                    stopped.append((wh_id, reason))
            return stopped

        return await self._writer.write(record)

    async def track_outcomes(
        self, *, failed: list[str], succeeded: list[str], now: int
    ) -> list[str]:
        def track(c: sqlite3.Connection) -> list[str]:
            c.executemany(
                "INSERT INTO webhook_failing (webhook_id, since) SELECT id, ? FROM webhooks "
                "WHERE id = ? ON CONFLICT (webhook_id) DO NOTHING",
                [(now, wh_id) for wh_id in failed],
            )
            if not succeeded:
                return []
            found = c.execute(
                f"DELETE FROM webhook_failing WHERE webhook_id IN ({rows.placeholders(len(succeeded))}) "
                "RETURNING webhook_id",
                succeeded,
            ).fetchall()
            return [str(r[0]) for r in found]

        if not failed and not succeeded:
            return []
        return await self._writer.write(track)

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

    async def queue_stats(self) -> QueueStats:
        def stats(c: sqlite3.Connection) -> QueueStats:
            found = c.execute(
                f"SELECT status, count(*), sum({rows.STUCK_WHERE}) FROM deliveries "
                "WHERE status IN ('pending', 'held', 'sending') GROUP BY status"
            ).fetchall()
            (oldest,) = c.execute(
                "SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'"
            ).fetchone()
            return QueueStats(
                counts={r[0]: r[1] for r in found},
                oldest_due=oldest,
                stuck=sum(r[2] for r in found),
            )

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

    async def rotate_partitions(self, now: int, *, before: int) -> int:
        """Nothing: SQLite tables are not partitioned; ``purge_expired`` deletes everything."""
        return 0

    async def defer(self, owner: str, dlv_id: str, *, until: int, error: str) -> bool:
        """Give a claimed delivery back to be tried at ``until``, without an attempt (see the port)."""
        changed = await self._writer.write(
            lambda c: (
                c.execute(
                    f"UPDATE deliveries SET status = {rows.REQUEUE}, next_attempt_at = ?, "
                    "last_error = ?, internal_faults = internal_faults + 1, lease_owner = NULL, "
                    "lease_until = NULL WHERE id = ? AND status = 'sending' AND lease_owner = ?",
                    (until, error, dlv_id, owner),
                ).rowcount
            )
        )
        return changed > 0


# Whether ``d`` may go now as far as ordering goes: a FIFO webhook sends only its oldest
# unfinished delivery, and only while none of its deliveries is in flight.
# (A CASE, so that the subquery runs for FIFO webhooks only.)
_FIFO_HEAD = (
    "CASE WHEN w.ordering != 'fifo' THEN 1 ELSE NOT EXISTS (SELECT 1 FROM deliveries h "
    "WHERE h.webhook_id = d.webhook_id AND h.status IN ('pending', 'sending', 'held') "
    "AND h.id != d.id AND (h.id < d.id OR h.status = 'sending')) END"
)
_CANDIDATE = (
    "json_group_array(json_array(d.id, d.webhook_id, d.workspace_id, w.rate_limit, "
    f"w.rate_next_at, {_FIFO_HEAD}, d.next_attempt_at, d.expires_at))"
)
# Due deliveries in queue order.
_DUE = (
    f"SELECT {_CANDIDATE} FROM (SELECT id, webhook_id, workspace_id, next_attempt_at, "
    "expires_at FROM deliveries WHERE status = 'pending' "
    "AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?) AS d "
    "JOIN webhooks w ON w.id = d.webhook_id"
)
# Each active webhook's oldest due deliveries (at most the cap), but for those that are full
# and those of full workspaces.
_DUE_PER_WEBHOOK = (
    f"SELECT {_CANDIDATE} FROM webhooks w JOIN deliveries d ON d.webhook_id = w.id "
    "WHERE w.status = 'active' AND w.id NOT IN ({skip}) "
    "AND w.workspace_id NOT IN ({skip_workspaces}) AND d.id IN ("
    "SELECT q.id FROM deliveries q WHERE q.webhook_id = w.id AND q.status = 'pending' "
    "AND q.next_attempt_at <= ? ORDER BY q.next_attempt_at, q.id LIMIT ?)"
)
# Candidates read per claimed slot before looking at each webhook's own queue.
_OVERSELECT = 2


def _candidates(
    c: sqlite3.Connection, sql: str, args: tuple[Any, ...]
) -> list[scheduling.Candidate]:
    """Rows of a candidate query (one JSON array, see rows.select_json), in queue order."""
    (text,) = c.execute(sql, args).fetchone()
    found = sorted(rows.loads_json(text), key=lambda r: (r[6], r[0]))  # next_attempt_at, id
    return [
        scheduling.Candidate(
            id=dlv_id,
            webhook_id=wh_id,
            workspace_id=ws_id,
            rate_limit=rate_limit,
            rate_clock=rate_clock,
            ready=bool(ready),
            expires_at=expires_at,
        )
        for dlv_id, wh_id, ws_id, rate_limit, rate_clock, ready, _due, expires_at in found
    ]


def _choose(
    c: sqlite3.Connection,
    candidates: list[scheduling.Candidate],
    slots: scheduling.Slots,
    *,
    now: int,
    limit: int,
) -> scheduling.Choice:
    """Choose among the candidates; reserve rate-limit slots and push the rest to theirs;
    end the expired ones."""
    choice = scheduling.choose(candidates, slots, now=now, limit=limit)
    if choice.expired:
        c.execute(
            f"UPDATE deliveries SET {_EXPIRE} WHERE id IN ({rows.placeholders(len(choice.expired))})",
            (now, *choice.expired),
        )
    c.executemany(
        "UPDATE webhooks SET rate_next_at = ? WHERE id = ?",
        [(until, wh_id) for wh_id, until in choice.reserved.items()],
    )
    c.executemany("UPDATE deliveries SET next_attempt_at = ? WHERE id = ?", choice.deferred)
    return choice


# A due delivery whose event expired ends unattempted (its last error stays its last attempt's).
_EXPIRE = "status = 'expired', completed_at = ?, next_attempt_at = NULL"

_Rows = dict[Any, dict[str, Any]]
# Claimed deliveries' rows with those of their events, webhooks and workspaces.
_Claimed = tuple[list[dict[str, Any]], _Rows, _Rows, _Rows]


def _claimed_rows(c: sqlite3.Connection, found: list[dict[str, Any]]) -> _Claimed:
    """The claimed deliveries with the rows of their events, webhooks and workspaces."""
    events = rows.by_key(c, "events", "pk", {r["event_pk"] for r in found})
    hooks = rows.by_key(c, "webhooks", "id", {r["webhook_id"] for r in found})
    spaces = rows.by_key(c, "workspaces", "id", {h["workspace_id"] for h in hooks.values()})
    return found, events, hooks, spaces


def _claims(
    found: list[dict[str, Any]], events: _Rows, hooks: _Rows, spaces: _Rows, *, box: SecretBox
) -> list[Claim]:
    # Each webhook and workspace is mapped once per claim, however many deliveries it has.
    shared = {
        wh_id: {
            "webhook": rows.webhook(h, box),
            "webhook_secret": h["secret"],
            "signing_key": h["signing_key"],
            "previous_keys": rows.grace_keys(h["previous_keys"]),
            "workspace_settings": rows.workspace_settings(spaces[h["workspace_id"]]["settings"]),
        }
        for wh_id, h in hooks.items()
    }
    return [
        Claim(
            delivery_id=r["id"],
            attempt=r["attempt_count"] + 1,
            tags=json.loads(r["tags"]),
            event=rows.event(events[r["event_pk"]]),
            internal_faults=r["internal_faults"],
            trace_context=r["trace_context"],
            expires_at=r["expires_at"],
            **shared[r["webhook_id"]],
        )
        for r in found
    ]


def _columns(names: str) -> str:
    """``json_extract(value, '$[i]') AS name`` for each name: a row of a JSON array of arrays."""
    return ", ".join(
        f"json_extract(value, '$[{i}]') AS {name}" for i, name in enumerate(names.split(", "))
    )


_ATTEMPT_COLUMNS = (
    "id, delivery_id, number, started_at, duration_ms, request, response, error, outcome, "
    "webhook_id"
)
# An attempt is logged while its delivery exists (it may be deleted while the attempt runs).
_INSERT_ATTEMPTS = (
    f"INSERT INTO attempts ({_ATTEMPT_COLUMNS}) "
    f"SELECT {_columns(_ATTEMPT_COLUMNS)} FROM json_each(?) "
    "WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = json_extract(value, '$[1]'))"
)
_DECISION_COLUMNS = "delivery_id, status, next_attempt_at, status_code, error, completed_at"
_APPLY_DECISIONS = (
    "UPDATE deliveries SET "
    f"status = CASE WHEN r.status = 'pending' THEN {rows.REQUEUE} ELSE r.status END, "
    "attempt_count = attempt_count + 1, next_attempt_at = r.next_attempt_at, "
    "last_status_code = r.status_code, last_error = r.error, completed_at = r.completed_at, "
    "internal_faults = 0, lease_owner = NULL, lease_until = NULL "
    f"FROM (SELECT {_columns(_DECISION_COLUMNS)} FROM json_each(?)) AS r "
    "WHERE deliveries.id = r.delivery_id AND deliveries.lease_owner = ?"
)


def _attempt_args(r: AttemptRecord) -> tuple[Any, ...]:
    """One attempt's row; its request and response stay objects in the batch's JSON, which
    ``json_extract`` gives back as their JSON text (encoding them apart would do it twice)."""
    a = r.attempt
    return (
        a.id,
        a.delivery_id,
        a.number,
        a.started_at,
        a.duration_ms,
        a.request,
        a.response,
        a.error,
        a.outcome,
        r.webhook_id,
    )


def _decision_args(r: AttemptRecord) -> tuple[Any, ...]:
    return (
        r.attempt.delivery_id,
        r.status,
        r.next_attempt_at,
        r.status_code,
        r.error,
        r.completed_at,
    )


def _owns(c: sqlite3.Connection, owner: str, r: AttemptRecord) -> bool:
    row = c.execute(
        "SELECT 1 FROM deliveries WHERE id = ? AND lease_owner = ?",
        (r.attempt.delivery_id, owner),
    ).fetchone()
    return row is not None
