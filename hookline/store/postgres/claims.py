"""Claiming due deliveries across processes: ``FOR UPDATE SKIP LOCKED`` plus the same rules as SQLite.

One short transaction per claim, never held across an HTTP call:

1. ``SELECT`` as many due candidates as are still wanted, in queue order, ``FOR
   UPDATE OF d SKIP LOCKED``: a delivery another process is claiming is skipped,
   not waited for. The query leaves out, for FIFO webhooks, every delivery but
   the oldest unfinished one when none is in flight, and webhooks (or workspaces)
   this worker has saturated: then it looks up each other webhook's own oldest due
   deliveries first, so it never reads through a saturated webhook's backlog. A FIFO head
   stays unfinished (pending, sending, held) until its last attempt, so a
   concurrent claimer's snapshot can only be more cautious.
2. Lock the candidates' rate-limited webhooks ``FOR NO KEY UPDATE SKIP LOCKED``
   and read their current ``rate_next_at``: the slot clock is shared by every
   worker. A webhook another claimer holds is skipped this round (that claimer
   takes its slot). ``NO KEY`` does not conflict with the ``KEY SHARE`` locks of
   concurrent ingestion; ``SKIP LOCKED`` means a claim never waits for a lock,
   so it can never be part of a deadlock.
3. Choose (hookline.domain.scheduling): at most its cap ``- busy[wh]`` per
   webhook and ``per_workspace - busy_workspaces[ws]`` per workspace; a
   rate-limited webhook gets the candidate whose slot is now and pushes the
   others to their own slots; the chosen ones become ``sending`` under this
   owner's lease.
4. When the window held candidates that step 3 could not take (their webhook or
   workspace filled up, their webhook ran out of slots or is held by another
   claimer), read again without those webhooks and workspaces. Locking only as many rows as wanted, rather than a
   wider window, keeps concurrent claimers from skipping each other's leftovers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from hookline.domain import scheduling
from hookline.secrets import SecretBox
from hookline.store import records
from hookline.store.port import Claim
from hookline.store.postgres.base import Queries
from hookline.store.postgres.connection import Connection, Record

# A FIFO webhook sends only its oldest unfinished delivery, and only while none is in flight.
_FIFO_HEAD = (
    "(w.ordering <> 'fifo' OR NOT EXISTS (SELECT 1 FROM deliveries h "
    "WHERE h.webhook_id = {d}.webhook_id AND h.status IN ('pending', 'sending', 'held') "
    "AND h.id <> {d}.id AND (h.id < {d}.id OR h.status = 'sending')))"
)
# Due deliveries in queue order, for FIFO webhooks only their heads.
_CANDIDATES = (
    "SELECT d.id, d.webhook_id, d.workspace_id, d.expires_at, w.rate_limit FROM deliveries d "
    "JOIN webhooks w ON w.id = d.webhook_id "
    "WHERE d.status = 'pending' AND d.next_attempt_at <= $1 "
    f"AND {_FIFO_HEAD.format(d='d')} "
    "ORDER BY d.next_attempt_at, d.id LIMIT $2 "
    "FOR UPDATE OF d SKIP LOCKED"
)
# The same, leaving out some webhooks ($2) and every webhook of some workspaces ($5). Filtering the queue above would read on through
# their whole due backlog; this reads each other active webhook's own oldest due deliveries
# (at most $4, index deliveries_due_webhook) without locks, then locks the ones wanted and
# checks them again under the lock. Written so that statistics taken when nothing was pending
# cannot mislead the planner: ``= ANY(ARRAY(…))`` computes the ids once (as ``IN (…)`` it was
# joined against every pending delivery, half a second a claim), and the check is a CASE so
# that the rows are found by primary key, not by filtering a partial index believed empty.
_CANDIDATES_EXCEPT = (
    "SELECT d.id, d.webhook_id, d.workspace_id, d.expires_at, w.rate_limit FROM deliveries d "
    "JOIN webhooks w ON w.id = d.webhook_id "
    "WHERE d.id = ANY(ARRAY(SELECT q.id FROM webhooks w CROSS JOIN LATERAL ("
    "SELECT q.id, q.webhook_id, q.next_attempt_at FROM deliveries q "
    "WHERE q.webhook_id = w.id AND q.status = 'pending' AND q.next_attempt_at <= $1 "
    f"AND {_FIFO_HEAD.format(d='q')} "
    "ORDER BY q.next_attempt_at, q.id LIMIT $4) q "
    "WHERE w.status = 'active' AND w.id <> ALL($2::text[]) "
    "AND w.workspace_id <> ALL($5::text[]) "
    "ORDER BY q.next_attempt_at, q.id LIMIT $3)) "
    "AND CASE WHEN d.status = 'pending' THEN d.next_attempt_at <= $1 ELSE false END "
    f"AND {_FIFO_HEAD.format(d='d')} "
    "ORDER BY d.next_attempt_at, d.id LIMIT $3 "
    "FOR UPDATE OF d SKIP LOCKED"
)
_LOCK_RATE_LIMITED = (
    "SELECT id, rate_next_at FROM webhooks WHERE id = ANY($1::text[]) "
    "ORDER BY id FOR NO KEY UPDATE SKIP LOCKED"
)
# The chosen deliveries become sending, read back with their events in the same statement.
_TAKE = (
    "WITH taken AS (UPDATE deliveries SET status = 'sending', lease_owner = $1, "
    "lease_until = $2 WHERE id = ANY($3::text[]) "
    "RETURNING id, attempt_count, internal_faults, tags, event_pk, webhook_id, next_attempt_at, "
    "trace_context, expires_at) "
    "SELECT t.*, e AS event FROM taken t JOIN events e ON e.pk = t.event_pk"
)
# Rate-limited webhooks' next slots, and the deliveries pushed to theirs: one statement each
# per claim, over arrays (the webhooks are locked already, see _LOCK_RATE_LIMITED).
_RESERVE = (
    "UPDATE webhooks SET rate_next_at = r.until "
    "FROM unnest($1::bigint[], $2::text[]) AS r(until, id) WHERE webhooks.id = r.id"
)
_DEFER = (
    "UPDATE deliveries SET next_attempt_at = r.at "
    "FROM unnest($1::bigint[], $2::text[]) AS r(at, id) WHERE deliveries.id = r.id"
)
# The claimed deliveries' webhooks with their workspaces' settings, in one read.
_HOOKS = (
    "SELECT w.*, s.settings AS workspace_settings FROM webhooks w "
    "JOIN workspaces s ON s.id = w.workspace_id WHERE w.id = ANY($1::text[])"
)
# A due delivery whose event expired ends unattempted (its last error stays its last attempt's).
_EXPIRE = (
    "UPDATE deliveries SET status = 'expired', completed_at = $1, next_attempt_at = NULL "
    "WHERE id = ANY($2::text[])"
)


class ClaimQueries(Queries):
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
        if limit <= 0:
            return []
        slots = scheduling.Slots(
            per_webhook=per_webhook or limit,
            per_workspace=per_workspace or limit,
            webhooks=dict(busy or {}),
            workspaces=dict(busy_workspaces or {}),
            windows=None if windows is None else dict(windows),
        )
        async with self._db.transaction() as c:
            skip, skip_workspaces = slots.full_webhooks(), slots.full_workspaces()
            found: list[Record] = []
            ended: list[str] = []
            # Usually one round; another only without webhooks that just ran out of room.
            while len(found) < limit:
                window = limit - len(found)
                rows = await (
                    c.fetch(
                        _CANDIDATES_EXCEPT,
                        now,
                        sorted(skip),
                        window,
                        slots.per_webhook,
                        sorted(skip_workspaces),
                    )
                    if skip or skip_workspaces
                    else c.fetch(_CANDIDATES, now, window)
                )
                clocks = await _lock_rate_limited(c, rows)
                choice = await _choose(c, rows, clocks, slots, now=now, limit=window)
                slots = choice.slots
                ended += choice.expired
                if choice.chosen:
                    found += await c.fetch(_TAKE, owner, now + lease_ms, choice.chosen)
                # Webhooks with nothing more to give now: filled up to the cap, out of
                # rate-limit slots, or with their slot clock held by another claimer;
                # and workspaces filled up to their share.
                limited = {r["webhook_id"] for r in rows if r["rate_limit"]}
                blocked = (choice.full | choice.pushed | (limited - clocks.keys())) - skip
                filled = choice.full_workspaces - skip_workspaces
                if choice.expired and len(rows) == window:
                    continue  # the window's expired rows are finished: read the next ones
                if len(rows) < window or not (blocked or filled):
                    break
                skip |= blocked
                skip_workspaces |= filled
            if expired is not None:
                expired += ended
            if not found:
                return []
            found.sort(key=lambda r: (r["next_attempt_at"], r["id"]))
            return await _claims(c, found, self._box)


async def _lock_rate_limited(c: Connection, rows: list[Record]) -> dict[str, int | None]:
    """Lock the candidates' rate-limited webhooks; their ``rate_next_at`` (those we could lock)."""
    limited = sorted({r["webhook_id"] for r in rows if r["rate_limit"]})
    if not limited:
        return {}
    return {r["id"]: r["rate_next_at"] for r in await c.fetch(_LOCK_RATE_LIMITED, limited)}


async def _choose(
    c: Connection,
    rows: list[Record],
    clocks: Mapping[str, int | None],
    slots: scheduling.Slots,
    *,
    now: int,
    limit: int,
) -> scheduling.Choice:
    """Choose among the candidates; reserve rate-limit slots and push the rest to theirs.

    A rate-limited webhook's next free moment is its locked ``rate_next_at``
    (``clocks``); a candidate whose webhook is not in ``clocks`` (another claimer
    holds it) is not ready, and left alone.
    """
    candidates = [
        scheduling.Candidate(
            id=r["id"],
            webhook_id=r["webhook_id"],
            workspace_id=r["workspace_id"],
            rate_limit=r["rate_limit"],
            rate_clock=clocks.get(r["webhook_id"]),
            ready=not r["rate_limit"] or r["webhook_id"] in clocks,
            expires_at=r["expires_at"],
        )
        for r in rows
    ]
    choice = scheduling.choose(candidates, slots, now=now, limit=limit)
    if choice.expired:
        await c.execute(_EXPIRE, now, choice.expired)
    if choice.reserved:
        hooks = sorted(choice.reserved)
        await c.execute(_RESERVE, [choice.reserved[wh] for wh in hooks], hooks)
    if choice.deferred:
        await c.execute(_DEFER, [at for at, _ in choice.deferred], [d for _, d in choice.deferred])
    return choice


async def _claims(c: Connection, found: list[Record], box: SecretBox) -> list[Claim]:
    hooks = await c.fetch(_HOOKS, sorted({r["webhook_id"] for r in found}))
    # Each webhook and workspace is mapped once per claim, however many deliveries it has.
    shared = {
        h["id"]: {
            "webhook": records.webhook(h, box),
            "webhook_secret": h["secret"],
            "signing_key": h["signing_key"],
            "previous_keys": records.grace_keys(h["previous_keys"]),
            "workspace_settings": records.workspace_settings(h["workspace_settings"]),
        }
        for h in hooks
    }
    return [
        Claim(
            delivery_id=r["id"],
            attempt=r["attempt_count"] + 1,
            tags=json.loads(r["tags"]),
            internal_faults=r["internal_faults"],
            trace_context=r["trace_context"],
            expires_at=r["expires_at"],
            event=records.event(r["event"]),
            **shared[r["webhook_id"]],
        )
        for r in found
    ]
