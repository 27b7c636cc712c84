"""The storage port: what the service layer and the dispatcher ask of a database.

Each adapter owns its SQL. Methods speak the domain; lists are newest first
and take an opaque cursor. Times are epoch milliseconds. A failure of the database
itself (out of space, out of resources, out of reach) leaves an adapter as
``hookline.errors.StorageFull`` or ``StorageUnavailable``, never as its driver's error. The port is a few
protocols, one per concern, so that a part can say how little it needs (the
dispatcher needs the ``Queue``); ``Store`` is all of them, what an adapter is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from hookline.domain.models import (
    ApiKey,
    Attempt,
    AttemptOutcome,
    Delivery,
    DeliveryStatus,
    Event,
    EventType,
    GraceKey,
    Webhook,
    Workspace,
)
from hookline.domain.statuses import StopReason, WebhookStatus
from hookline.domain.webhook_commands import WebhookPatch
from hookline.domain.workspace_settings import WorkspaceSettings

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class DeliveryFilter:
    workspace_id: str | None = None
    webhook_id: str | None = None
    status: DeliveryStatus | None = None
    event_type: str | None = None
    event_id: str | None = None
    since: int | None = None
    until: int | None = None
    q: str | None = None
    stuck: bool | None = None  # only deliveries that are (or are not) stuck (``Delivery.stuck``)


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueStats:
    """The queue as the metrics read it at scrape time."""

    counts: dict[str, int]  # unfinished deliveries by status
    oldest_due: int | None  # the earliest due time of a pending delivery
    stuck: int  # deliveries stuck by faults of Hookline's own (``Delivery.stuck``)


@dataclass(frozen=True, kw_only=True, slots=True)
class NewEvent:
    """An event to insert, with the webhooks it fans out to and the trace context (W3C
    ``traceparent``) its deliveries continue."""

    event: Event
    webhook_ids: list[str]
    delivery_ids: list[str]
    trace_context: str | None = None
    # When the event's deliveries stop being worth attempting (epoch ms); None: never.
    expires_at: int | None = None


class StaleConfig(Exception):
    """An insert given a configuration version found the configuration changed since."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Inserted:
    event: Event
    created: bool
    deliveries: int
    # Whether a delivery it created is due now (pending, not held): a wake-up's worth.
    due: bool = field(default=False, compare=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class Claim:
    """A delivery claimed for one attempt, with what the worker needs to send it."""

    delivery_id: str
    attempt: int
    tags: list[str]
    event: Event
    webhook: Webhook
    webhook_secret: str
    workspace_settings: WorkspaceSettings
    signing_key: str | None = None
    previous_keys: list[GraceKey] = field(default_factory=list)
    internal_faults: int = 0  # Hookline's own faults in a row since the last attempt
    trace_context: str | None = None  # the W3C traceparent the attempt's span continues
    expires_at: int | None = None  # when its event's ttl runs out (epoch ms); None: never


@dataclass(frozen=True, kw_only=True, slots=True)
class AttemptRecord:
    """One finished attempt and what it decided for its delivery."""

    attempt: Attempt
    webhook_id: str
    status: DeliveryStatus
    next_attempt_at: int | None
    status_code: int | None
    error: str | None
    completed_at: int | None
    stop_webhook: StopReason | None = None  # the webhook goes out of service for this reason


@dataclass(frozen=True, kw_only=True, slots=True)
class StatusChange:
    status: WebhookStatus
    reason: str | None
    by: str
    at: int


@dataclass(kw_only=True, slots=True)
class WebhookChanges:
    patch: WebhookPatch = field(default_factory=WebhookPatch)
    secret: str | None = None
    signing_key: str | None = None
    previous_keys: list[GraceKey] | None = None
    status: StatusChange | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class UiSession:
    """A signed-in UI session. ``id`` is the SHA-256 (hex) of the token its cookie carries.

    ``kind`` "key": signed in with an API key (``api_key``, sealed); "portal": signed in to
    ``workspace_id`` by a portal link. ``issued_by`` is the id of that key, or of the key
    that issued the link ("admin" for the admin key).
    """

    id: str
    kind: str
    issued_by: str
    created_at: int
    expires_at: int
    api_key: str | None = None
    workspace_id: str | None = None


HOUR_MS = 3_600_000
# How many of a webhook's latest attempts its health looks at for failures in a row.
FAILURE_STREAK_LIMIT = 100


@dataclass(frozen=True, kw_only=True, slots=True)
class AttemptHour:
    """How many of a webhook's attempts started in the hour from ``start`` succeeded or failed."""

    start: int
    succeeded: int
    failed: int


@dataclass(frozen=True, kw_only=True, slots=True)
class EndpointHealth:
    """How a webhook's attempts went, whether or not their deliveries have finished: the
    last attempt (when, its outcome, its answer's status code or its error), how many of its
    latest attempts failed in a row (counted up to ``FAILURE_STREAK_LIMIT``), and its
    attempts per hour since the time asked for (the hours that had any, oldest first)."""

    last_outcome: AttemptOutcome
    last_at: int
    last_status_code: int | None
    last_error: str | None
    failure_streak: int
    hours: tuple[AttemptHour, ...] = ()


class TenantStore(Protocol):
    """Workspaces and their API keys."""

    async def create_workspace(self, ws: Workspace) -> bool: ...
    async def get_workspace(self, ws_id: str) -> Workspace | None: ...
    async def list_workspaces(
        self, *, ids: list[str] | None, limit: int, cursor: str | None
    ) -> Page[Workspace]: ...
    async def update_workspace(self, ws: Workspace) -> None: ...
    async def delete_workspace(self, ws_id: str) -> bool: ...

    async def create_api_key(self, key: ApiKey, key_hash: str) -> None: ...
    async def find_api_key(self, key_hash: str) -> ApiKey | None: ...
    async def get_api_key(self, key_id: str) -> ApiKey | None: ...
    async def list_api_keys(
        self, ws_id: str, *, limit: int, cursor: str | None
    ) -> Page[ApiKey]: ...
    async def delete_api_key(self, key_id: str) -> bool: ...


class CatalogStore(Protocol):
    """The event type catalog."""

    async def create_event_type(self, et: EventType) -> bool: ...
    async def get_event_type(self, name: str) -> EventType | None: ...
    async def list_event_types(
        self, *, category: str | None, include_archived: bool, limit: int, cursor: str | None
    ) -> Page[EventType]: ...
    async def update_event_type(self, et: EventType) -> None: ...


class SessionStore(Protocol):
    """UI sessions and the portal links redeemed."""

    async def create_ui_session(self, session: UiSession) -> None: ...
    async def get_ui_session(self, session_id: str, *, now: int) -> UiSession | None:
        """The session, unless it is unknown or expired at ``now``."""
        ...

    async def delete_ui_session(self, session_id: str) -> bool: ...
    async def delete_portal_sessions(self, issued_by: str) -> int:
        """Delete the portal sessions of the links the key ``issued_by`` issued."""
        ...

    async def redeem_portal_link(self, link_id: str, *, expires_at: int) -> bool:
        """Record the link as used; False when it was already (atomic across processes)."""
        ...

    async def purge_ui_sessions(self, now: int) -> int:
        """Delete the sessions and the redeemed links that expired before ``now``."""
        ...


class KeyCheck(Protocol):
    """The token that proves a process holds the deployment's encryption key."""

    async def key_check(self) -> str | None:
        """The token sealed with the deployment's encryption key, or None before it is set."""
        ...

    async def set_key_check(self, token: str, *, now: int) -> str:
        """Store ``token`` as the key check unless one is stored already; the stored one."""
        ...


class WebhookStore(Protocol):
    """Webhooks, their sealed secrets, keys and custom headers, and their pause notices."""

    async def create_webhook(
        self,
        wh: Webhook,
        secret: str,
        *,
        max_webhooks: int | None,
        signing_key: str | None = None,
    ) -> bool: ...
    async def get_webhook(self, wh_id: str) -> Webhook | None: ...
    async def get_webhook_secret(self, wh_id: str) -> str | None: ...
    async def get_webhook_keys(self, wh_id: str) -> WebhookChanges | None: ...
    async def list_webhooks(
        self, ws_id: str, *, status: WebhookStatus | None, limit: int, cursor: str | None
    ) -> Page[Webhook]: ...
    async def subscribed_webhooks(self, ws_id: str) -> list[Webhook]: ...
    async def update_webhook(self, wh_id: str, changes: WebhookChanges, now: int) -> None: ...
    async def delete_webhook(self, wh_id: str) -> bool: ...
    async def take_pause_notice(self, wh_id: str, *, now: int, interval_ms: int) -> bool: ...

    async def any_webhook_secret(self) -> str | None:
        """Some webhook's sealed secret, or None when there is no webhook."""
        ...

    async def seal_plain_headers(self) -> int:
        """Seal the custom headers an older version stored in clear; how many rows it sealed.

        Run once the encryption key is known to be the deployment's: sealing with another
        key would lock the deployment out of those headers.
        """
        ...


class EventStore(Protocol):
    """Events: written with their deliveries in one transaction, then read."""

    async def config_version(self) -> int:
        """The counter every change to what ingestion reads moves (keys, workspaces,
        the catalog, webhooks' existence, subscriptions and status)."""
        ...

    async def insert_events(
        self, batch: list[NewEvent], *, config_version: int | None = None
    ) -> list[Inserted]:
        """Insert each event with one delivery per webhook, in one transaction; a known
        (workspace, id) inserts nothing. With ``config_version``, raise ``StaleConfig``
        and insert nothing if the configuration's counter is no longer that."""
        ...

    async def get_event(self, event_id: str, *, ws_id: str | None) -> Event | None: ...
    async def list_events(
        self,
        ws_id: str,
        *,
        type: str | None,
        since: int | None,
        until: int | None,
        limit: int,
        cursor: str | None,
    ) -> Page[Event]: ...


class DeliveryLog(Protocol):
    """Deliveries and their attempts as the API shows them; resends, recovery, test pings
    and endpoint health."""

    async def get_delivery(self, dlv_id: str) -> Delivery | None: ...
    async def list_deliveries(
        self, flt: DeliveryFilter, *, limit: int, cursor: str | None
    ) -> Page[Delivery]: ...
    async def list_event_deliveries(self, ws_id: str, event_id: str) -> list[Delivery]: ...
    async def list_attempts(self, dlv_id: str) -> list[Attempt]: ...
    async def get_event_of_delivery(self, dlv_id: str) -> Event | None: ...
    async def trace_contexts(self, dlv_ids: list[str]) -> list[str]:
        """The stored trace contexts of those of ``dlv_ids`` that have one."""
        ...

    async def resend(
        self,
        dlv_ids: list[str],
        *,
        new_ids: list[str],
        tag: str,
        now: int,
        trace_context: str | None = None,
    ) -> list[Delivery]: ...
    async def insert_test_delivery(
        self, event: Event, webhook_id: str, dlv_id: str, *, trace_context: str | None = None
    ) -> Delivery: ...
    async def recoverable(
        self, wh_id: str, *, since: int, until: int | None, statuses: list[DeliveryStatus]
    ) -> list[str]: ...

    async def webhook_health(self, wh_ids: list[str], *, since: int) -> dict[str, EndpointHealth]:
        """The health of each of ``wh_ids`` that has made an attempt, with its attempts per
        hour since ``since`` (a whole hour); a few bounded index reads per webhook."""
        ...

    async def retry_now(self, dlv_id: str, *, now: int) -> Delivery | None:
        """Move a pending delivery's next attempt to ``now`` (no new delivery), unless its
        webhook is FIFO and an older unfinished delivery of it goes first; the delivery as it
        is then (unchanged when it was not moved), or None when there is no such delivery."""
        ...


class Queue(Protocol):
    """The deliveries as a queue: claims under a lease, their records, the leases' upkeep."""

    async def listen_for_work(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` whenever work may have become due in another process (may do nothing)."""
        ...

    def work_created(self) -> None:
        """Tell other processes' dispatchers that work is due now (done already if the
        store's own transactions notify)."""
        ...

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
        """Due deliveries, leased to ``owner``; a due delivery whose event expired is ended
        ``expired`` instead, unattempted, and its id added to ``expired`` (when given).
        The caps (``per_webhook``, each webhook's ``windows``, ``per_workspace``) are
        hookline.domain.scheduling's."""
        ...

    async def record_attempts(
        self, owner: str, records: list[AttemptRecord]
    ) -> list[tuple[str, StopReason]]:
        """Store the attempts and apply their decisions; the webhooks this took out of service.

        Only a record by the delivery's lease owner changes the delivery or its webhook. A
        webhook is paused only while active, disabled while active or paused."""
        ...

    async def track_outcomes(
        self, *, failed: list[str], succeeded: list[str], now: int
    ) -> list[str]:
        """Mark ``failed`` webhooks failing (since ``now`` unless already) and ``succeeded``
        ones not; the webhooks of ``succeeded`` that were failing, each told to one caller."""
        ...

    async def release(self, owner: str, dlv_ids: list[str]) -> None: ...
    async def renew_leases(self, owner: str, *, until: int) -> None: ...
    async def reclaim_expired(self, now: int) -> int: ...
    async def next_due_at(self, *, after: int | None = None) -> int | None: ...
    async def queue_stats(self) -> QueueStats:
        """Unfinished deliveries by status, the earliest due time of a pending one, and how
        many are stuck."""
        ...

    async def purge_expired(self, before: int, *, batch: int) -> int: ...
    async def rotate_partitions(self, now: int, *, before: int) -> int:
        """Create the partitions the coming days need, drop those wholly older than ``before``.

        Returns how many were dropped; a store that does not partition returns 0
        and leaves everything to ``purge_expired``.
        """
        ...

    async def defer(self, owner: str, dlv_id: str, *, until: int, error: str) -> bool:
        """Give a claimed delivery back to be tried again at ``until``, without an attempt.

        For a fault of Hookline's own: the delivery is pending again (held if its webhook
        is no longer active), ``error`` is its last error and its count of internal faults
        in a row grows by one (the next real attempt resets it). Only the lease owner can
        defer; whether it did.
        """
        ...

    async def ensure_writable(self) -> None:
        """Raise ``StorageFull`` while the database is out of space: known from this store's
        last write that needed space and found none, until a write succeeds again (tried
        with a probe write at most once a second while it lasts, never otherwise)."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class KeptAnswer:
    """The answer to a request sent with an idempotency key: given again to a repeat."""

    request: str  # method and path of the request it answered
    status: int
    body: str


class AnswerStore(Protocol):
    """Answers kept per caller and idempotency key, for a repeat of the same request."""

    async def get_answer(self, owner: str, key: str) -> KeptAnswer | None: ...
    async def keep_answer(self, owner: str, key: str, answer: KeptAnswer, *, now: int) -> None:
        """Keep ``answer`` unless one is kept for the key already (the first one stays)."""
        ...

    async def purge_answers(self, before: int) -> int:
        """Forget the answers kept before ``before``."""
        ...


class Store(
    TenantStore,
    CatalogStore,
    SessionStore,
    AnswerStore,
    KeyCheck,
    WebhookStore,
    EventStore,
    DeliveryLog,
    Queue,
    Protocol,
):
    """The whole port, and the database's own life: open, migrate, ping, close."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def migrate(self) -> list[str]: ...
    async def ping(self) -> None: ...
