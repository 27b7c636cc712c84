"""Domain value objects: frozen, keyword-only, times in epoch milliseconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from hookline.domain.statuses import WebhookStatus

if TYPE_CHECKING:  # the settings' own modules: imported for annotations only
    from hookline.domain.endpoint_auth import EndpointAuth
    from hookline.domain.filters import Filter
    from hookline.domain.queues import Destination
    from hookline.domain.retry import PolicyLayer
    from hookline.domain.transformations import Transformation
    from hookline.domain.workspace_settings import WorkspaceSettings


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    PUBLISHER = "publisher"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    HELD = "held"
    SENDING = "sending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"  # its event's ttl ran out before its next attempt could start
    CANCELLED = "cancelled"  # its webhook's transformation said not to send it


# Faults of Hookline's own in a row (each a deferral without an attempt) after which an
# unfinished delivery shows as stuck: ``stuck`` in the API and the UI, counted by the gauge
# ``hookline_deliveries_stuck``, logged once at ERROR. It is still tried after each backoff.
STUCK_AFTER_FAULTS = 5
# The statuses of a delivery that can be stuck: waiting for its next try, or in it.
STUCK_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


class AttemptOutcome(StrEnum):
    """An attempt's own result: a 2xx answer, or anything else (the retry policy decides
    what follows)."""

    SUCCESS = "success"
    FAILURE = "failure"


SYSTEM = "system"


@dataclass(frozen=True, kw_only=True, slots=True)
class Workspace:
    id: str
    name: str
    plan: str
    notification_email: str | None
    settings: WorkspaceSettings
    created_at: int
    updated_at: int
    metadata: dict[str, Any] = field(default_factory=dict)  # the product's own key/values


@dataclass(frozen=True, kw_only=True, slots=True)
class ApiKey:
    id: str
    workspace_id: str
    name: str
    role: Role
    created_at: int

    def __repr__(self) -> str:
        return f"ApiKey(id={self.id!r}, role={self.role.value}, key=***)"


@dataclass(frozen=True, kw_only=True, slots=True)
class SchemaVersion:
    """One version of an event type's data: its JSON Schema and its example, each optional."""

    schema: dict[str, Any] | None = None
    example: dict[str, Any] | None = None


# The version a lone ``schema`` (and ``example``) stands for.
FIRST_VERSION = "1"


@dataclass(frozen=True, kw_only=True, slots=True)
class EventType:
    name: str
    category: str
    description: str
    # By version ("1", "2", …: positive integers as text); empty when the type has neither
    # schema nor example.
    versions: dict[str, SchemaVersion]
    # The whole type is on its way out (the Svix flag); its events are still accepted.
    deprecated: bool
    archived: bool
    created_at: int
    updated_at: int

    @property
    def latest(self) -> str | None:
        """The newest version: the one an event that names none follows."""
        return max(self.versions, key=int) if self.versions else None

    @property
    def newest_first(self) -> list[tuple[str, SchemaVersion]]:
        return sorted(self.versions.items(), key=lambda item: int(item[0]), reverse=True)

    @property
    def first(self) -> SchemaVersion:
        """Version "1", what the single ``schema`` and ``example`` fields read and write."""
        return self.versions.get(FIRST_VERSION) or SchemaVersion()

    @property
    def latest_example(self) -> dict[str, Any] | None:
        latest = self.latest
        return None if latest is None else self.versions[latest].example


@dataclass(frozen=True, kw_only=True, slots=True)
class Webhook:
    id: str
    workspace_id: str
    url: str
    name: str
    description: str
    events: list[str]
    headers: dict[str, str] = field(repr=False)  # their values are often credentials
    status: WebhookStatus
    status_reason: str | None
    status_changed_by: str | None
    status_changed_at: int | None
    retry_policy: PolicyLayer | None
    rate_limit: float | None
    ordering: str
    metadata: dict[str, Any]
    created_at: int
    updated_at: int
    filter: Filter | None = None
    auth: EndpointAuth | None = field(default=None, repr=False)
    # Not HTTP: a queue, stream or topic; its secrets among it.
    destination: Destination | None = field(default=None, repr=False)
    # The custom headers go with a redirect to another origin too (else to the URL's origin only).
    forward_headers_on_redirect: bool = False
    # Only events sharing one of these channels reach it (empty: every event, channels or not).
    channels: tuple[str, ...] = ()
    # JavaScript that reshapes each delivery before it is signed (``domain/transformations``).
    transformation: Transformation | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class GraceKey:
    """A secret and ed25519 key (both sealed) that a rotation replaced: they go on signing
    beside the new ones until ``expires_at``."""

    secret: str = field(repr=False)
    signing_key: str | None = field(repr=False)
    expires_at: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    id: str
    workspace_id: str
    type: str
    data_json: str
    created_at: int
    channels: tuple[str, ...] = ()  # who the event is for (``domain/channels.py``)


@dataclass(frozen=True, kw_only=True, slots=True)
class Delivery:
    id: str
    event_id: str
    event_type: str
    webhook_id: str
    workspace_id: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: int | None
    last_status_code: int | None
    last_error: str | None
    created_at: int
    completed_at: int | None
    resent_from: str | None
    tags: list[str] = field(default_factory=list)
    internal_faults: int = 0  # faults of Hookline's own in a row since its last attempt
    expires_at: int | None = None  # when its event's ttl runs out (epoch ms); None: never

    @property
    def stuck(self) -> bool:
        """Whether faults of Hookline's own keep the delivery from its next attempt:
        ``STUCK_AFTER_FAULTS`` or more in a row while it waits or is sent."""
        return self.internal_faults >= STUCK_AFTER_FAULTS and self.status in STUCK_STATUSES


@dataclass(frozen=True, kw_only=True, slots=True)
class Attempt:
    id: str
    delivery_id: str
    number: int
    started_at: int
    duration_ms: float
    request: dict[str, Any]
    response: dict[str, Any] | None
    error: str | None
    outcome: AttemptOutcome
