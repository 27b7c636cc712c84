"""Event types: Hookline's catalog. ``schemas`` keeps one version, "1" (the catalog's
schema), whose first ``examples`` entry is the type's example (what send-example sends);
``groupName`` is the category."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from hookline.api.deps import Svc, Who
from hookline.api.svix.common import Iterator, Limit, Order, svix_router
from hookline.api.svix.wire import (
    SCHEMA_VERSION,
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
    if body.deprecated:
        raise _not_offered("deprecated", "archive the event type instead.")
    out: dict[str, Any] = {}
    if full or "description" in given:
        out["description"] = body.description or ""
    if body.groupName is not None:
        out["category"] = body.groupName
    if body.archived is not None:
        out["archived"] = body.archived
    if full or "schemas" in given:
        schemas = body.schemas or {}
        if set(schemas) - {SCHEMA_VERSION}:
            raise _not_offered("schemas", 'Hookline keeps one schema, version "1".')
        schema = schemas.get(SCHEMA_VERSION)
        out["schema"] = schema
        examples = (schema or {}).get("examples")
        if isinstance(examples, list) and examples and isinstance(examples[0], dict):
            out["example"] = examples[0]
    return out


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
