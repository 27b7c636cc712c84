"""Svix's request and response bodies (camelCase on the wire), and the mappers from Hookline's
domain values to them.

Ids are Hookline's own (``wh_…``, ``evt_…``, ``att_…``): Svix's SDKs take ids as opaque
strings, so a webhook has one id on both APIs. An application's ``uid`` is the workspace's
own id when the product chose it (anything but a generated ``ws_…``); an endpoint's ``uid``
is the webhook's name.
"""

from __future__ import annotations

import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from hookline.domain import jsjson
from hookline.domain.models import (
    Attempt,
    AttemptOutcome,
    Delivery,
    DeliveryStatus,
    Event,
    EventType,
    Webhook,
    Workspace,
)
from hookline.domain.statuses import WebhookStatus
from hookline.ids import format_ms
from hookline.store.port import Page

T = TypeVar("T")
UID_PATTERN = r"^[a-zA-Z0-9\-_.]+$"
ALL_EVENTS = "*"


class SvixIn(BaseModel):
    """A request body: unknown fields are refused, as Svix's server does."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)


class SvixOut(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListResponse(SvixOut, Generic[T]):
    data: list[T]
    iterator: str | None
    prevIterator: str | None = None
    done: bool


def page_of(page: Page[Any], items: list[T]) -> ListResponse[T]:
    """A Svix page from a Hookline page: the iterator is Hookline's cursor."""
    return ListResponse[T](data=items, iterator=page.next_cursor, done=page.next_cursor is None)


def _t(ms: int | None) -> str:
    return format_ms(ms) or ""


# --- applications ---------------------------------------------------------------------------


class ApplicationIn(SvixIn):
    name: str = Field(min_length=1)
    uid: str | None = Field(default=None, min_length=1, max_length=256, pattern=UID_PATTERN)
    throttleRate: int | None = Field(default=None, ge=1)
    metadata: dict[str, str] = Field(default_factory=dict)


class ApplicationPatch(SvixIn):
    name: str | None = Field(default=None, min_length=1)
    uid: str | None = Field(default=None, min_length=1, max_length=256, pattern=UID_PATTERN)
    throttleRate: int | None = Field(default=None, ge=1)
    metadata: dict[str, str] | None = None


class ApplicationOut(SvixOut):
    id: str
    uid: str | None
    name: str
    throttleRate: int | None = None
    metadata: dict[str, str]
    createdAt: str
    updatedAt: str


def app_uid(ws_id: str) -> str | None:
    """The product's own id of a workspace (a generated ``ws_`` id is none)."""
    return None if ws_id.startswith("ws_") else ws_id


def application_out(ws: Workspace) -> ApplicationOut:
    return ApplicationOut(
        id=ws.id,
        uid=app_uid(ws.id),
        name=ws.name,
        metadata=_text_metadata(ws.metadata),
        createdAt=_t(ws.created_at),
        updatedAt=_t(ws.updated_at),
    )


# --- endpoints ------------------------------------------------------------------------------


class EndpointFields(SvixIn):
    """What Svix's EndpointIn, EndpointUpdate and EndpointPatch share. ``filterTypes`` is the
    name older SDKs send for ``eventTypes``."""

    url: str | None = None
    description: str | None = None
    uid: str | None = Field(default=None, min_length=1, max_length=256, pattern=UID_PATTERN)
    disabled: bool | None = None
    eventTypes: list[str] | None = None
    filterTypes: list[str] | None = None
    channels: list[str] | None = None
    throttleRate: int | None = Field(default=None, ge=1)
    metadata: dict[str, str] | None = None


class EndpointIn(EndpointFields):
    url: str = Field(min_length=1)
    secret: str | None = None
    headers: dict[str, str] | None = None


class EndpointPatch(EndpointFields):
    secret: str | None = None


class EndpointOut(SvixOut):
    id: str
    uid: str | None
    url: str
    description: str
    disabled: bool
    eventTypes: list[str] | None
    filterTypes: list[str] | None
    channels: list[str] | None = None
    throttleRate: int | None
    metadata: dict[str, str]
    createdAt: str
    updatedAt: str


def _event_types(wh: Webhook) -> list[str] | None:
    return None if ALL_EVENTS in wh.events else list(wh.events)


def _text_metadata(metadata: dict[str, Any]) -> dict[str, str]:
    """Svix's metadata holds text; a value set through Hookline's own API is shown as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}


def endpoint_out(wh: Webhook) -> EndpointOut:
    rate = None if wh.rate_limit is None else max(1, round(wh.rate_limit))
    types = _event_types(wh)
    return EndpointOut(
        id=wh.id,
        uid=wh.name or None,
        url=wh.url,
        description=wh.description,
        disabled=wh.status is WebhookStatus.DISABLED,
        eventTypes=types,
        filterTypes=types,
        throttleRate=rate,
        channels=list(wh.channels) or None,
        metadata=_text_metadata(wh.metadata),
        createdAt=_t(wh.created_at),
        updatedAt=_t(wh.updated_at),
    )


class EndpointHeadersIn(SvixIn):
    headers: dict[str, str]


class EndpointHeadersPatchIn(SvixIn):
    headers: dict[str, str]
    deleteHeaders: list[str] | None = None


class EndpointHeadersOut(SvixOut):
    headers: dict[str, str]
    sensitive: list[str]


class EndpointSecretOut(SvixOut):
    key: str


class EndpointSecretRotateIn(SvixIn):
    key: str | None = None
    gracePeriodSeconds: int | None = Field(default=None, ge=0, le=604800)


class RecoverIn(SvixIn):
    since: str
    until: str | None = None


class RecoverOut(SvixOut):
    id: str
    status: str = "running"
    task: str = "endpoint.recover"
    updatedAt: str


class EventExampleIn(SvixIn):
    eventType: str = Field(min_length=1, max_length=256)
    exampleIndex: int | None = Field(default=None, ge=0)


class EndpointStats(SvixOut):
    success: int
    pending: int
    sending: int
    fail: int
    canceled: int = 0


# --- messages and attempts ------------------------------------------------------------------


class MessageIn(SvixIn):
    eventType: str = Field(min_length=1, max_length=256)
    payload: dict[str, Any]
    eventId: str | None = Field(default=None, min_length=1, max_length=256, pattern=UID_PATTERN)
    channels: list[str] | None = None
    application: ApplicationIn | None = None
    payloadRetentionPeriod: int | None = Field(default=None, ge=1)
    payloadRetentionHours: int | None = Field(default=None, ge=1)
    tags: list[str] | None = None
    deliverAt: str | None = None
    transformationsParams: dict[str, Any] | None = None


class MessageOut(SvixOut):
    id: str
    eventId: str | None
    eventType: str
    payload: dict[str, Any]
    channels: list[str] | None = None
    timestamp: str


class EndpointMessageOut(MessageOut):
    status: int
    statusText: str
    nextAttempt: str | None


class MessageEndpointOut(EndpointOut):
    status: int
    statusText: str
    nextAttempt: str | None


class MessageAttemptOut(SvixOut):
    id: str
    msgId: str
    endpointId: str
    url: str
    response: str
    responseStatusCode: int
    responseDurationMs: int
    status: int
    statusText: str
    triggerType: int
    timestamp: str
    msg: MessageOut | None = None


class EmptyResponse(SvixOut):
    pass


# Svix's message status: its number and text.
SUCCESS, PENDING, FAIL, SENDING = (0, "success"), (1, "pending"), (2, "fail"), (3, "sending")
DELIVERY_STATUS = {
    DeliveryStatus.SUCCEEDED: SUCCESS,
    DeliveryStatus.PENDING: PENDING,
    DeliveryStatus.HELD: PENDING,
    DeliveryStatus.SENDING: SENDING,
    DeliveryStatus.FAILED: FAIL,
    DeliveryStatus.EXPIRED: FAIL,  # Svix has no such status: ended without success
    DeliveryStatus.CANCELLED: SUCCESS,  # its transformation said not to send: as Svix counts it
}
# Svix's trigger types: an attempt on the schedule, or one a person asked for.
SCHEDULED, MANUAL = 0, 1
MANUAL_TAGS = frozenset({"resent", "recovered", "test"})


def message_id(event: Event) -> tuple[str, str | None]:
    """A message's id, and its eventId when the sender gave one (it is then the id)."""
    return event.id, None if event.id.startswith("evt_") else event.id


def message_out(event: Event, *, with_content: bool = True) -> MessageOut:
    msg_id, event_id = message_id(event)
    return MessageOut(
        id=msg_id,
        eventId=event_id,
        eventType=event.type,
        payload=jsjson.loads(event.data_json) if with_content else {},
        channels=list(event.channels) or None,
        timestamp=_t(event.created_at),
    )


def endpoint_message_out(event: Event, dlv: Delivery) -> EndpointMessageOut:
    number, text = DELIVERY_STATUS[dlv.status]
    return EndpointMessageOut(
        **message_out(event).model_dump(),
        status=number,
        statusText=text,
        nextAttempt=format_ms(dlv.next_attempt_at),
    )


def message_endpoint_out(wh: Webhook, dlv: Delivery) -> MessageEndpointOut:
    number, text = DELIVERY_STATUS[dlv.status]
    return MessageEndpointOut(
        **endpoint_out(wh).model_dump(),
        status=number,
        statusText=text,
        nextAttempt=format_ms(dlv.next_attempt_at),
    )


def attempt_out(
    attempt: Attempt, dlv: Delivery, *, with_content: bool = True, msg: MessageOut | None = None
) -> MessageAttemptOut:
    number, text = SUCCESS if attempt.outcome is AttemptOutcome.SUCCESS else FAIL
    answer = attempt.response or {}
    body = answer.get("body") if with_content else None
    return MessageAttemptOut(
        id=attempt.id,
        msgId=dlv.event_id,
        endpointId=dlv.webhook_id,
        url=str(attempt.request.get("url", "")),
        response=body if isinstance(body, str) else "",
        responseStatusCode=int(answer.get("status") or 0),
        responseDurationMs=round(attempt.duration_ms),
        status=number,
        statusText=text,
        triggerType=MANUAL if MANUAL_TAGS & set(dlv.tags) else SCHEDULED,
        timestamp=_t(attempt.started_at),
        msg=msg,
    )


# --- event types, app portal ----------------------------------------------------------------


class EventTypeFields(SvixIn):
    description: str | None = None
    archived: bool | None = None
    deprecated: bool | None = None
    schemas: dict[str, dict[str, Any]] | None = None
    groupName: str | None = Field(default=None, max_length=128)
    featureFlag: str | None = None
    featureFlags: list[str] | None = None


class EventTypeIn(EventTypeFields):
    name: str = Field(min_length=1, max_length=256, pattern=UID_PATTERN)


class EventTypeOut(SvixOut):
    name: str
    description: str
    archived: bool
    deprecated: bool = False
    schemas: dict[str, dict[str, Any]] | None
    groupName: str | None
    featureFlag: str | None = None
    featureFlags: list[str] | None = None
    createdAt: str
    updatedAt: str


def event_type_out(et: EventType) -> EventTypeOut:
    return EventTypeOut(
        name=et.name,
        description=et.description,
        archived=et.archived,
        deprecated=et.deprecated,
        schemas={v: sv.schema for v, sv in et.versions.items() if sv.schema is not None} or None,
        groupName=et.category,
        createdAt=_t(et.created_at),
        updatedAt=_t(et.updated_at),
    )


class AppPortalAccessIn(SvixIn):
    application: ApplicationIn | None = None
    expiry: int | None = Field(default=None, ge=1)
    featureFlags: list[str] | None = None
    readOnly: bool | None = None
    capabilities: list[str] | None = None
    sessionId: str | None = None


class AppPortalAccessOut(SvixOut):
    url: str
    token: str
