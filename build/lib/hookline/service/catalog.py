"""The event-type catalog, and validation of event data against its schemas."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from hookline.domain.matching import is_valid_event_type
from hookline.domain.models import EventType
from hookline.errors import Conflict, Invalid, NotFound
from hookline.ids import now_ms
from hookline.service.access import Action, Principal
from hookline.service.context import Context, clamp_limit
from hookline.store.port import Page

MAX_SCHEMA_ERRORS = 20
# Retrieves nothing: a schema's $ref never makes Hookline fetch a URL.
NO_REMOTE_REFS: Registry[Any] = Registry()


class Catalog:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self._validators: dict[str, tuple[int, Draft202012Validator | None, bool]] = {}

    async def create(self, who: Principal, body: dict[str, Any]) -> EventType:
        who.require_admin("change the event catalog")
        name = body["name"]
        if not is_valid_event_type(name):
            raise Invalid(
                "An event type name is 1-128 of letters, digits and _ . : / - "
                "starting with a letter or digit.",
                code="invalid_event_type",
            )
        schema = _checked_schema(body.get("schema"))
        example = body.get("example")
        _check_example(schema, example)
        now = now_ms()
        et = EventType(
            name=name,
            category=body.get("category") or _first_segment(name),
            description=body.get("description") or "",
            schema=schema,
            example=example,
            archived=False,
            created_at=now,
            updated_at=now,
        )
        if not await self.store.create_event_type(et):
            raise Conflict(f"Event type {name!r} exists.", code="event_type_exists")
        return et

    async def get(self, who: Principal, name: str) -> EventType:
        who.require(Action.READ, "the event catalog")
        et = await self.store.get_event_type(name)
        if et is None:
            raise NotFound(f"No event type {name!r}.")
        return et

    async def list(
        self,
        who: Principal,
        *,
        category: str | None,
        include_archived: bool,
        limit: int | None,
        cursor: str | None,
    ) -> Page[EventType]:
        who.require(Action.READ, "the event catalog")
        return await self.store.list_event_types(
            category=category,
            include_archived=include_archived,
            limit=clamp_limit(limit),
            cursor=cursor,
        )

    async def update(self, who: Principal, name: str, body: dict[str, Any]) -> EventType:
        who.require_admin("change the event catalog")
        et = await self.get(who, name)
        schema = _checked_schema(body["schema"]) if "schema" in body else et.schema
        example = body["example"] if "example" in body else et.example
        _check_example(schema, example)
        changed = EventType(
            name=et.name,
            category=body.get("category") or et.category,
            description=body["description"]
            if body.get("description") is not None
            else et.description,
            schema=schema,
            example=example,
            archived=bool(body["archived"]) if body.get("archived") is not None else et.archived,
            created_at=et.created_at,
            updated_at=now_ms(),
        )
        await self.store.update_event_type(changed)
        return changed

    async def archive(self, who: Principal, name: str) -> EventType:
        return await self.update(who, name, {"archived": True})

    async def validate_event(self, event_type: str, data: dict[str, Any]) -> None:
        """Check ``data`` against its type's schema; in strict mode, the type must exist.

        The type is read from the configuration cache: ingestion alone calls this, and its
        insert checks that the cache is current.
        """
        et = await self.ctx.cache.get(
            "event_type", event_type, lambda: self.store.get_event_type(event_type)
        )
        if et is None or et.archived:
            if self.ctx.settings.strict_event_types:
                raise Invalid(
                    f"Event type {event_type!r} is not in the catalog.", code="unknown_event_type"
                )
            return
        cached = self._validators.get(et.name)
        if cached is None or cached[0] != et.updated_at:
            validator = (
                Draft202012Validator(et.schema, registry=NO_REMOTE_REFS) if et.schema else None
            )
            cached = (et.updated_at, validator, et.archived)
            self._validators[et.name] = cached
        validator = cached[1]
        if validator is None:
            return
        try:
            errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        except Unresolvable as exc:
            raise Invalid(
                f"The schema of {event_type!r} has a $ref that cannot be resolved: {exc}.",
                code="schema_violation",
            ) from exc
        if errors:
            raise Invalid(
                f"The data does not match the schema of {event_type!r}.",
                code="schema_violation",
                details=[
                    {"path": "/" + "/".join(str(p) for p in e.absolute_path), "message": e.message}
                    for e in errors[:MAX_SCHEMA_ERRORS]
                ],
            )


def _first_segment(name: str) -> str:
    for i, ch in enumerate(name):
        if ch in "./:":
            return name[:i]
    return name


def _checked_schema(schema: Any) -> dict[str, Any] | None:
    if schema is None:
        return None
    if not isinstance(schema, dict):
        raise Invalid("schema must be a JSON Schema object.", code="invalid_schema")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise Invalid(
            f"schema is not a valid JSON Schema: {exc.message}", code="invalid_schema"
        ) from exc
    _check_refs(schema)
    return schema


def _check_refs(schema: dict[str, Any]) -> None:
    """Every $ref points inside the schema (``#…``) at something that is there."""
    resource = DRAFT202012.create_resource(schema)
    base = resource.id() or ""
    resolver = NO_REMOTE_REFS.with_resource(base, resource).resolver(base_uri=base)
    for ref in _refs(schema):
        if not ref.startswith("#"):
            raise Invalid(
                f"schema may only $ref its own parts (#/…), not {ref!r}.", code="invalid_schema"
            )
        try:
            resolver.lookup(ref)
        except Unresolvable as exc:
            raise Invalid(
                f"schema has an unresolvable $ref {ref!r}.", code="invalid_schema"
            ) from exc


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k in ("$ref", "$dynamicRef") and isinstance(v, str)]
        for value in node.values():
            found += _refs(value)
        return found
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _check_example(schema: dict[str, Any] | None, example: Any) -> None:
    if example is None:
        return
    if not isinstance(example, dict):
        raise Invalid("example must be a JSON object (an event's data).", code="invalid_example")
    if schema is not None:
        validator = Draft202012Validator(schema, registry=NO_REMOTE_REFS)
        error = next(iter(validator.iter_errors(example)), None)
        if error is not None:
            raise Invalid(
                f"example does not match the schema: {error.message}", code="invalid_example"
            )
