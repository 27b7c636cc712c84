"""What the API answers, as typed, read-only objects.

Field names are the API's in snake case (``created_at`` for ``createdAt``); times are
timezone-aware datetimes. Fields a newer server adds are kept (``model_extra``) rather
than refused, so an older client keeps working.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

DeliveryStatus = Literal["pending", "held", "sending", "succeeded", "failed", "expired"]
WebhookStatus = Literal["active", "paused", "disabled"]
Role = Literal["owner", "admin", "member", "publisher"]


class Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True
    )


class Workspace(Model):
    id: str
    name: str
    plan: str
    notification_email: str | None
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any] = {}


class ApiKey(Model):
    id: str
    name: str
    role: Role
    workspace_id: str
    created_at: datetime


class ApiKeyCreated(ApiKey):
    key: str = Field(description="The key itself, shown this once.")


class EventType(Model):
    name: str
    description: str | None
    category: str | None
    schema_: dict[str, Any] | None = Field(alias="schema")
    example: dict[str, Any] | None
    schemas: dict[str, dict[str, Any]] = {}
    examples: dict[str, dict[str, Any]] = {}
    latest_version: str | None = None
    deprecated: bool = False
    archived: bool
    created_at: datetime
    updated_at: datetime


class Webhook(Model):
    id: str
    workspace_id: str
    url: str
    name: str | None
    description: str | None
    events: list[str]
    status: WebhookStatus
    status_reason: str | None
    status_changed_at: datetime | None
    status_changed_by: str | None
    headers: dict[str, str]
    forward_headers_on_redirect: bool = False
    metadata: dict[str, Any]
    ordering: str
    rate_limit: float | None
    retry_policy: dict[str, Any] | None
    filter: dict[str, Any] | None = None
    channels: list[str] | None = None  # None: every event
    auth: dict[str, Any] | None = None  # the type and the parts that are not secret
    destination: dict[str, Any] | None = None  # not HTTP: a queue, stream or topic
    created_at: datetime
    updated_at: datetime


class Secret(Model):
    secret: str
    public_key: str | None = None


class EventAccepted(Model):
    id: str
    type: str
    workspace_id: str
    created_at: datetime
    deliveries: int


class ErrorBody(Model):
    code: str
    message: str
    details: list[Any] | None = None


class BatchItem(Model):
    """One event's result in a batch: accepted (``data``) or refused (``error``)."""

    ok: bool
    status: int
    data: EventAccepted | None = None
    error: ErrorBody | None = None


class Event(Model):
    id: str
    type: str
    workspace_id: str
    data: dict[str, Any]
    created_at: datetime
    channels: list[str] | None = None


class Delivery(Model):
    id: str
    event_id: str
    event_type: str
    webhook_id: str
    workspace_id: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    # Deferred again and again by faults of Hookline's own (``last_error`` says which); an
    # older server does not say.
    stuck: bool = False
    created_at: datetime
    completed_at: datetime | None
    # When its event's ttl runs out; an older server does not say.
    expires_at: datetime | None = None
    resent_from: str | None
    tags: list[str]


class EventDetail(Event):
    deliveries: list[Delivery]


class TokenRequest(Model):
    url: str
    status: int | None
    error: str | None
    duration_ms: float


class RequestRecord(Model):
    method: str
    url: str
    headers: dict[str, str]
    body: str
    token_requests: list[TokenRequest] | None = None  # an OAuth2 webhook's token requests


class ResponseRecord(Model):
    status: int | None  # None: a destination other than HTTP acknowledged (see body)
    headers: dict[str, str]
    body: str
    truncated: bool


class Attempt(Model):
    id: str
    number: int
    started_at: datetime
    duration_ms: float
    request: RequestRecord
    response: ResponseRecord | None
    error: str | None
    outcome: Literal["success", "failure"]


class DeliveryDetail(Delivery):
    event: dict[str, Any] | None
    attempts: list[Attempt]


class Recovered(Model):
    count: int


class PortalLink(Model):
    url: str
    expires_at: datetime


class Deleted(Model):
    id: str
    deleted: bool = True


class Health(Model):
    status: str
