"""Messages: Hookline's events. A message's body becomes an event of Hookline's own shape
(``type``, ``data``, ``id``) and goes through the same ingestion: the eventId is the event's
id, so a repeat of it is the original message and creates nothing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from hookline.api.deps import Svc, Who, time_param
from hookline.api.svix.applications import create_application
from hookline.api.svix.common import Iterator, Limit, application, svix_router
from hookline.api.svix.wire import ListResponse, MessageIn, MessageOut, message_out, page_of
from hookline.domain import jsjson
from hookline.domain.models import Event, Workspace
from hookline.errors import Invalid, NotFound
from hookline.service import Principal, Services
from hookline.service.access import Action

router = svix_router("messages")
WithContent = Annotated[bool, Query()]


def _not_offered(field: str, why: str) -> Invalid:
    return Invalid(f"{field} is not offered: {why}", code="not_offered", details=[{"field": field}])


def _check_offered(body: MessageIn, retention_days: float) -> None:
    """Refuse what Hookline would not honour, rather than accept and drop it."""
    for field in ("tags", "deliverAt", "transformationsParams", "payloadRetentionHours"):
        if getattr(body, field) is not None:
            raise _not_offered(field, "Hookline has no counterpart.")
    days = body.payloadRetentionPeriod
    if days is not None and days != retention_days:
        raise _not_offered(
            "payloadRetentionPeriod",
            f"this deployment keeps every payload {retention_days:g} days.",
        )


async def _app_for_message(
    svc: Services, who: Principal, app_id: str, body: MessageIn
) -> Workspace:
    """The application, created first from ``application`` when it does not exist."""
    try:
        return await application(svc, who, app_id, Action.PUBLISH)
    except NotFound:
        if body.application is None:
            raise
        given = body.application.model_copy(update={"uid": body.application.uid or app_id})
        if given.uid != app_id:
            raise
        return await create_application(svc, who, given)


async def message(svc: Services, who: Principal, app_id: str, msg_id: str) -> Event:
    ws = await application(svc, who, app_id)
    event, _deliveries = await svc.events.get(who, msg_id)
    if event.workspace_id != ws.id:
        raise NotFound("No such message.")
    return event


@router.post("/app/{app_id}/msg", status_code=202, response_model=MessageOut)
async def create_message(
    app_id: str,
    body: MessageIn,
    svc: Svc,
    who: Who,
    response: Response,
    with_content: WithContent = True,
) -> MessageOut:
    """Send a message to every endpoint subscribed to its type (202; 200 for a repeated
    eventId, answered with the original message)."""
    _check_offered(body, svc.ctx.settings.retention_days)
    ws = await _app_for_message(svc, who, app_id, body)
    event: dict[str, Any] = {"type": body.eventType, "data": body.payload}
    if body.eventId is not None:
        event["id"] = body.eventId
    if body.channels:
        event["channels"] = body.channels
    accepted = await svc.events.ingest(who, ws.id, jsjson.dumps(event).encode(), None)
    if not accepted.created:
        response.status_code = 200
    return message_out(accepted.event, with_content=with_content)


@router.get("/app/{app_id}/msg", response_model=ListResponse[MessageOut])
async def list_messages(
    app_id: str,
    svc: Svc,
    who: Who,
    limit: Limit = 50,
    iterator: Iterator = None,
    before: Annotated[str | None, Query(max_length=64)] = None,
    after: Annotated[str | None, Query(max_length=64)] = None,
    event_types: Annotated[list[str] | None, Query()] = None,
    channel: Annotated[str | None, Query()] = None,
    with_content: WithContent = True,
) -> ListResponse[MessageOut]:
    """The application's messages, newest first; one event type may be asked for."""
    if channel is not None:
        raise Invalid(
            "channel is not offered: messages are listed by event type and time.",
            code="not_offered",
            details=[{"loc": ["query", "channel"]}],
        )
    ws = await application(svc, who, app_id)
    types = [t for given in event_types or [] for t in given.split(",") if t]
    if len(types) > 1:
        raise Invalid(
            "event_types takes one event type here.",
            code="not_offered",
            details=[{"loc": ["query", "event_types"]}],
        )
    page = await svc.events.list(
        who,
        ws.id,
        type=types[0] if types else None,
        since=time_param(after, "after"),
        until=time_param(before, "before"),
        limit=limit,
        cursor=iterator,
    )
    return page_of(page, [message_out(e, with_content=with_content) for e in page.items])


@router.get("/app/{app_id}/msg/{msg_id}", response_model=MessageOut)
async def get_message(
    app_id: str, msg_id: str, svc: Svc, who: Who, with_content: WithContent = True
) -> MessageOut:
    return message_out(await message(svc, who, app_id, msg_id), with_content=with_content)
