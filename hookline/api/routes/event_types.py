"""The event-type catalog."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from hookline.api.deps import Cursor, Limit, Svc, Who
from hookline.api.routes.common import v1_router
from hookline.api.schemas import (
    EventTypeCreate,
    EventTypeOut,
    EventTypePatch,
    Ok,
    OkList,
    event_type_out,
)

router = v1_router("event types")


@router.post("/event-types", status_code=201, response_model=Ok[EventTypeOut])
async def create_event_type(body: EventTypeCreate, svc: Svc, who: Who) -> Ok[EventTypeOut]:
    """Register an event type, optionally with JSON Schemas (2020-12) by version, each with an
    example; ``schema`` and ``example`` alone are version 1."""
    et = await svc.catalog.create(who, body.model_dump(by_alias=True, exclude_unset=True))
    return Ok(data=event_type_out(et))


@router.get("/event-types", response_model=OkList[EventTypeOut])
async def list_event_types(
    svc: Svc,
    who: Who,
    category: Annotated[str | None, Query(max_length=128)] = None,
    includeArchived: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> OkList[EventTypeOut]:
    """The event catalog, newest first; filter by category, archived types on request."""
    page = await svc.catalog.list(
        who, category=category, include_archived=includeArchived, limit=limit, cursor=cursor
    )
    return OkList(data=[event_type_out(e) for e in page.items], nextCursor=page.next_cursor)


@router.get("/event-types/{name:path}", response_model=Ok[EventTypeOut])
async def get_event_type(name: str, svc: Svc, who: Who) -> Ok[EventTypeOut]:
    """One event type with its schemas and examples by version."""
    return Ok(data=event_type_out(await svc.catalog.get(who, name)))


@router.patch("/event-types/{name:path}", response_model=Ok[EventTypeOut])
async def update_event_type(
    name: str, body: EventTypePatch, svc: Svc, who: Who
) -> Ok[EventTypeOut]:
    """Change an event type's category, description, schemas, examples or deprecated flag
    (admin key only); ``schemas`` and ``examples`` replace every version's."""
    et = await svc.catalog.update(who, name, body.model_dump(by_alias=True, exclude_unset=True))
    return Ok(data=event_type_out(et))


@router.delete("/event-types/{name:path}", response_model=Ok[EventTypeOut])
async def archive_event_type(name: str, svc: Svc, who: Who) -> Ok[EventTypeOut]:
    """Archive an event type: it leaves the catalog; stored events keep it."""
    return Ok(data=event_type_out(await svc.catalog.archive(who, name)))
