"""Which due deliveries a claim takes: the scheduling rules, apart from any store.

A store reads the due candidates in queue order and persists what ``choose``
decides; both stores share these rules, so they cannot drift apart:

- a webhook gets at most ``per_webhook`` attempts in flight per worker (a hanging
  endpoint cannot take every slot), and a workspace at most ``per_workspace``
  (one tenant's hanging endpoints cannot take every slot from the others);
- a candidate whose event expired (``expires_at`` before now) is not taken: the store ends it
  ``expired`` within the rows it read, whatever the slots;
- a candidate that is not ``ready`` (behind a FIFO webhook's head, or whose rate
  clock another claimer holds) is left where it is;
- a rate-limited webhook gets one slot per ``1/rateLimit`` seconds: the
  candidate whose slot is now is taken and the webhook's clock moves one
  interval on; each later candidate is pushed to its own slot, one interval apart.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# The longest wait between two attempts of a rate-limited webhook, whatever its row says.
MAX_RATE_INTERVAL_MS = 86_400_000


def rate_interval(rate_limit: float) -> int:
    """Milliseconds between a rate-limited webhook's attempts: at least 1, at most a day.

    The API takes rates of 0.001 to 10000 per second. A row outside that (stored
    before the bounds, or by hand) gets the nearest end instead of a slot too far
    out for the store's integers, which would fail every webhook's claims.
    """
    if not rate_limit > 0:  # negative, or NaN
        return MAX_RATE_INTERVAL_MS
    return max(1, round(min(1000 / rate_limit, MAX_RATE_INTERVAL_MS)))


def first_slot(clock: float | None, now: int) -> int:
    """A rate-limited webhook's next free slot: its clock, or now if that is later.

    Claims set the clock at most one interval (a day at most) past their own
    time, so a clock further ahead is a damaged row: it is ignored (and then
    rewritten by the claim) rather than followed into a slot that could overflow
    the store's integers or hold the webhook back for good.
    """
    if clock is None or not now < clock <= now + MAX_RATE_INTERVAL_MS:  # also NaN
        return now
    return int(clock)


def workspace_slots(share: float, worker_slots: int) -> int:
    """The most of a worker's ``worker_slots`` one workspace may hold: ``ceil(share * slots)``.

    At least one, so that a small share never shuts a workspace out. The product
    is rounded first so that a share like 0.3 of 10 gives 3, not 4.
    """
    return max(1, math.ceil(round(share * worker_slots, 9)))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A due delivery as a store read it, with what the rules need of its webhook."""

    id: str
    webhook_id: str
    workspace_id: str
    rate_limit: float | None = None
    # The webhook's ``rate_next_at`` as read in this claim's transaction.
    rate_clock: int | None = None
    # False when it may not go now whatever the slots: behind a FIFO webhook's head,
    # or a rate-limited webhook whose clock another claimer holds.
    ready: bool = True
    # When its event's ttl runs out (epoch ms); None: never.
    expires_at: int | None = None

    def expired(self, now: int) -> bool:
        """Whether an attempt starting at ``now`` would start after the event expired."""
        return self.expires_at is not None and now > self.expires_at


@dataclass(frozen=True, slots=True)
class Slots:
    """This worker's attempts in flight, per webhook and per workspace, and their caps."""

    per_webhook: int
    per_workspace: int
    webhooks: Mapping[str, int] = field(default_factory=dict)
    workspaces: Mapping[str, int] = field(default_factory=dict)

    def full_webhooks(self) -> set[str]:
        return {wh for wh, n in self.webhooks.items() if n >= self.per_webhook}

    def full_workspaces(self) -> set[str]:
        return {ws for ws, n in self.workspaces.items() if n >= self.per_workspace}


@dataclass(frozen=True, slots=True)
class Choice:
    """What a claim takes and what it must write back."""

    # Delivery ids to take now, in candidate order.
    chosen: list[str]
    # (slot, delivery id): rate-limited deliveries whose ``next_attempt_at`` moves to their slot.
    deferred: list[tuple[int, str]]
    # Webhook id → its new ``rate_next_at``: the slot after the one taken now.
    reserved: dict[str, int]
    # Webhooks with candidates pushed to later slots: nothing more of theirs can go now.
    pushed: set[str]
    # The slots with the chosen ones counted as busy: for a further round of the same claim.
    slots: Slots
    # Delivery ids whose event expired: they end ``expired``, unattempted.
    expired: list[str] = field(default_factory=list)

    @property
    def full(self) -> set[str]:
        """Webhooks at their cap once the chosen ones are in flight."""
        return self.slots.full_webhooks()

    @property
    def full_workspaces(self) -> set[str]:
        """Workspaces at their share once the chosen ones are in flight."""
        return self.slots.full_workspaces()


def choose(candidates: Iterable[Candidate], slots: Slots, *, now: int, limit: int) -> Choice:
    """Pick at most ``limit`` of ``candidates`` (in queue order) under ``slots`` at ``now``."""
    webhooks: Counter[str] = Counter(slots.webhooks)
    workspaces: Counter[str] = Counter(slots.workspaces)
    chosen: list[str] = []
    deferred: list[tuple[int, str]] = []
    reserved: dict[str, int] = {}
    pushed: set[str] = set()
    next_slot: dict[str, int] = {}
    expired: list[str] = []
    for c in candidates:
        if len(chosen) >= limit:
            break
        if c.expired(now):
            expired.append(c.id)
            continue
        wh, ws = c.webhook_id, c.workspace_id
        if not c.ready or webhooks[wh] >= slots.per_webhook:
            continue
        if workspaces[ws] >= slots.per_workspace:
            continue
        if c.rate_limit:  # null (or 0): no limit
            interval = rate_interval(c.rate_limit)
            slot = next_slot.get(wh) or first_slot(c.rate_clock, now)
            next_slot[wh] = slot + interval
            if slot > now:
                deferred.append((slot, c.id))
                pushed.add(wh)
                continue
            reserved[wh] = slot + interval
        chosen.append(c.id)
        webhooks[wh] += 1
        workspaces[ws] += 1
    after = Slots(slots.per_webhook, slots.per_workspace, dict(webhooks), dict(workspaces))
    return Choice(chosen, deferred, reserved, pushed, after, expired)
