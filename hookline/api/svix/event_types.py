"""Event types: Hookline's catalog. ``schemas`` are the catalog's versions, each schema's
first ``examples`` entry that version's example (the latest one is what send-example sends);
``deprecated`` is the type's flag; ``groupName`` is the category."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from hookline.api.deps import Svc, Who
from hookline.api.svix.common import Iterator, Limit, Order, svix_router
from hookline.api.svix.wire import (
    EventTypeFields,
    EventTypeIn,
    EventTypeOut,
    ListResponse,
    event_type_out,
    page_of,
)
from hookline.errors import Invalid, NotFound

router = svix_router("event types")


def catalog_body(body: EventTypeFields, *, full: bool) -> dict[str, Any]:
    """The body of Hookline's catalog routes that a Svix event type body stands for; what
    the catalog has no place for is refused rather than dropped."""
    given = body.model_fields_set
    for field in ("featureFlag", "featureFlags"):
        if getattr(body, field):
            raise _not_offered(field, "Hookline has no feature flags.")
    out: dict[str, Any] = {}
    if full or body.deprecated is not None:
        out["deprecated"] = bool(body.deprecated)
    if full or "description" in given:
        out["description"] = body.description or ""
    if body.groupName is not None:
        out["category"] = body.groupName
    if body.archived is not None:
        out["archived"] = body.archived
    if full or "schemas" in given:
        schemas = body.schemas or {}
        out["schemas"] = schemas
        out["examples"] = {v: ex for v, s in schemas.items() if (ex := _first_example(s))}
    return out


def _first_example(schema: dict[str, Any]) -> dict[str, Any] | None:
    examples = schema.get("examples")
    if isinstance(examples, list) and examples and isinstance(examples[0], dict):
        return examples[0]
    return None


def _not_offered(field: str, why: str) -> Invalid:
    return Invalid(f"{field} is not offered: {why}", code="not_offered", details=[{"field": field}])


@router.get("/event-type", response_model=ListResponse[EventTypeOut])
async def list_event_types(
    svc: Svc,
    who: Who,
    limit: Limit = 50,
    iterator: Iterator = None,
    order: Order = None,
    include_archived: Annotated[bool, Query()] = False,
) -> ListResponse[EventTypeOut]:
    page = await svc.catalog.list(
        who, category=None, include_archived=include_archived, limit=limit, cursor=iterator
    )
    return page_of(page, [event_type_out(et) for et in page.items])


@router.post("/event-type", status_code=201, response_model=EventTypeOut)
async def create_event_type(body: EventTypeIn, svc: Svc, who: Who) -> EventTypeOut:
    fields = catalog_body(body, full=True)
    archived = fields.pop("archived", False)
    et = await svc.catalog.create(who, {"name": body.name, **fields})
    if archived:
        et = await svc.catalog.archive(who, et.name)
    return event_type_out(et)


@router.get("/event-type/{event_type_name}", response_model=EventTypeOut)
async def get_event_type(event_type_name: str, svc: Svc, who: Who) -> EventTypeOut:
    return event_type_out(await svc.catalog.get(who, event_type_name))


@router.put("/event-type/{event_type_name}", response_model=EventTypeOut)
async def update_event_type(
    event_type_name: str, body: EventTypeFields, svc: Svc, who: Who, response: Response
) -> EventTypeOut:
    """Replace the event type's fields, or create it (201)."""
    fields = catalog_body(body, full=True)
    try:
        await svc.catalog.get(who, event_type_name)
    except NotFound:
        response.status_code = 201
        archived = fields.pop("archived", False)
        et = await svc.catalog.create(who, {"name": event_type_name, **fields})
        return event_type_out(await svc.catalog.archive(who, et.name) if archived else et)
    fields.setdefault("archived", False)
    return event_type_out(await svc.catalog.update(who, event_type_name, fields))


@router.patch("/event-type/{event_type_name}", response_model=EventTypeOut)
async def patch_event_type(
    event_type_name: str, body: EventTypeFields, svc: Svc, who: Who
) -> EventTypeOut:
    fields = catalog_body(body, full=False)
    return event_type_out(await svc.catalog.update(who, event_type_name, fields))


@router.delete("/event-type/{event_type_name}", status_code=204, response_class=Response)
async def delete_event_type(
    event_type_name: str,
    svc: Svc,
    who: Who,
    expunge: Annotated[bool, Query()] = False,
) -> Response:
    """Archive the event type (stored events keep it); deleting it for good is not offered."""
    if expunge:
        raise Invalid(
            "expunge is not offered: an event type is archived, never deleted.",
            code="not_offered",
            details=[{"loc": ["query", "expunge"]}],
        )
    await svc.catalog.archive(who, event_type_name)
    return Response(status_code=204)
