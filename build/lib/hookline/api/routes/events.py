"""Event ingestion and event reads.

The body is read raw so that its size is checked before parsing and numbers
keep the exact form the sender wrote; the OpenAPI document still shows the
schema (EventIn, EventBatchIn).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Query, Request

from hookline.api.deps import Cursor, Limit, Svc, Who, time_param
from hookline.api.routes.common import v1_router
from hookline.api.routing import JsonResponse
from hookline.api.schemas import (
    BatchItem,
    ErrorBody,
    EventAccepted,
    EventDetail,
    EventOut,
    Ok,
    OkList,
    TimeIn,
    delivery_out,
    event_out,
)
from hookline.domain import jsjson
from hookline.errors import HooklineError, PayloadTooLarge
from hookline.ids import format_ms
from hookline.service.events import Accepted

router = v1_router("events")


def _body(schema: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    }


async def _read(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` (never buffered whole)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is {declared} bytes; the limit is {limit}.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"The body is over the limit of {limit} bytes.")
    return bytes(body)


def _accepted(a: Accepted) -> EventAccepted:
    ev = a.event
    return EventAccepted(
        id=ev.id,
        type=ev.type,
        workspaceId=ev.workspace_id,
        createdAt=format_ms(ev.created_at) or "",
        deliveries=a.deliveries,
    )


@router.post(
    "/workspaces/{wId}/events",
    status_code=202,
    response_model=Ok[EventAccepted],
    responses={200: {"model": Ok[EventAccepted], "description": "A repeat of an earlier id."}},
    openapi_extra=_body("EventIn"),
)
async def send_event(
    wId: str,
    request: Request,
    svc: Svc,
    who: Who,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> Any:
    """Accept an event and fan it out to every subscribed webhook (202; 200 for a repeat)."""
    raw = await _read(request, svc.events.body_limit(batch=False))
    accepted = await svc.events.ingest(who, wId, raw, idempotency_key)
    body = Ok(data=_accepted(accepted)).model_dump()
    return JsonResponse(body, status_code=202 if accepted.created else 200)


@router.post(
    "/workspaces/{wId}/events/batch",
    response_model=Ok[list[BatchItem]],
    openapi_extra=_body("EventBatchIn"),
)
async def send_events(wId: str, request: Request, svc: Svc, who: Who) -> Ok[list[BatchItem]]:
    """Accept up to 1000 events; results come back in order, one per event."""
    raw = await _read(request, svc.events.body_limit(batch=True))
    results = await svc.events.ingest_batch(who, wId, raw)
    return Ok(data=[_item(r) for r in results])


def _item(result: Accepted | HooklineError) -> BatchItem:
    if isinstance(result, HooklineError):
        return BatchItem(
            ok=False,
            status=result.status,
            error=ErrorBody(code=result.error_code, message=result.message, details=result.details),
        )
    return BatchItem(ok=True, status=202 if result.created else 200, data=_accepted(result))


@router.get("/workspaces/{wId}/events", response_model=OkList[EventOut])
async def list_events(
    wId: str,
    svc: Svc,
    who: Who,
    type: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[TimeIn | None, Query(description="Created at or after (RFC 3339).")] = None,
    until: Annotated[TimeIn | None, Query(description="Created before (RFC 3339).")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> OkList[EventOut]:
    """The workspace's events with their payloads, newest first; filter by type and time."""
    page = await svc.events.list(
        who,
        wId,
        type=type,
        since=time_param(since, "since"),
        until=time_param(until, "until"),
        limit=limit,
        cursor=cursor,
    )
    return OkList(
        data=[event_out(e, jsjson.loads(e.data_json)) for e in page.items],
        nextCursor=page.next_cursor,
    )


@router.get("/events/{eventId}", response_model=Ok[EventDetail])
async def get_event(eventId: str, svc: Svc, who: Who) -> Ok[EventDetail]:
    """An event's payload and its deliveries."""
    event, deliveries = await svc.events.get(who, eventId)
    out = event_out(event, jsjson.loads(event.data_json))
    return Ok(
        data=EventDetail(**out.model_dump(), deliveries=[delivery_out(d) for d in deliveries])
    )
