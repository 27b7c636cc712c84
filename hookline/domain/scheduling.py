"""Which due deliveries a claim takes: the scheduling rules, apart from any store.

A store reads the due candidates in queue order and persists what ``choose``
decides; both stores share these rules, so they cannot drift apart:

- a webhook gets at most ``per_webhook`` attempts in flight per worker (a hanging
  endpoint cannot take every slot), and a workspace at most ``per_workspace``
  (one tenant's hanging endpoints cannot take every slot from the others);
- within that cap, a webhook gets at most its window (``Windows``): a webhook starts
  with ``FIRST_WINDOW`` attempts in flight, one more for each of its attempts that
  ends without timing out, and half as many after one that times out, so an endpoint
  that hangs holds one or two of its workspace's slots rather than the whole cap;
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
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# The longest wait between two attempts of a rate-limited webhook, whatever its row says.
MAX_RATE_INTERVAL_MS = 86_400_000
# Attempts in flight a worker allows a webhook whose attempts it has not seen end yet.
FIRST_WINDOW = 2
# Webhooks whose window a worker remembers, the most recently attempted ones: a webhook
# it forgot starts again from FIRST_WINDOW.
REMEMBERED_WINDOWS = 2048


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


class Windows:
    """How many attempts in flight this worker allows each webhook: its window, 1 to ``cap``.

    Slow start and multiplicative decrease, as TCP paces a connection: a webhook not seen
    yet gets ``FIRST_WINDOW``; each attempt that ends without timing out (whatever the
    answer: it held its slot only as long as the endpoint took to answer) widens the window
    by one, up to ``cap``, so an endpoint that answers doubles its window with each round of
    attempts; an attempt that timed out halves it, down to one. An endpoint that hangs thus
    holds ``FIRST_WINDOW`` slots until its first timeouts, then one, instead of ``cap`` for
    every timeout's length. The windows of the ``REMEMBERED_WINDOWS`` most recently attempted
    webhooks are kept.
    """

    def __init__(self, cap: int, *, remembered: int = REMEMBERED_WINDOWS) -> None:
        self._cap = cap
        self._remembered = remembered
        self._windows: OrderedDict[str, int] = OrderedDict()

    def ended(self, webhook_id: str, *, timed_out: bool) -> None:
        """An attempt to ``webhook_id`` ended: it timed out, or it did not."""
        window = self._windows.pop(webhook_id, FIRST_WINDOW)
        window = max(1, window // 2) if timed_out else min(self._cap, window + 1)
        self._windows[webhook_id] = window  # the most recently attempted last
        if len(self._windows) > self._remembered:
            self._windows.popitem(last=False)

    def known(self) -> Mapping[str, int]:
        """The windows this worker remembers (a live view: a claim copies it, as it does its
        counts in flight), for ``Slots.windows``."""
        return MappingProxyType(self._windows)


@dataclass(frozen=True, slots=True)
class Slots:
    """This worker's attempts in flight, per webhook and per workspace, and their caps."""

    per_webhook: int
    per_workspace: int
    webhooks: Mapping[str, int] = field(default_factory=dict)
    workspaces: Mapping[str, int] = field(default_factory=dict)
    # Each webhook's window (``Windows.known``), a webhook not in it ``FIRST_WINDOW``, each at
    # most ``per_webhook``; None: every webhook gets ``per_webhook``.
    windows: Mapping[str, int] | None = None

    def cap(self, webhook_id: str) -> int:
        """The most attempts in flight ``webhook_id`` may have."""
        if self.windows is None:
            return self.per_webhook
        return min(self.per_webhook, self.windows.get(webhook_id, FIRST_WINDOW))

    def full_webhooks(self) -> set[str]:
        return {wh for wh, n in self.webhooks.items() if n >= self.cap(wh)}

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
        if not c.ready or webhooks[wh] >= slots.cap(wh):
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
    after = Slots(
        slots.per_webhook, slots.per_workspace, dict(webhooks), dict(workspaces), slots.windows
    )
    return Choice(chosen, deferred, reserved, pushed, after, expired)
