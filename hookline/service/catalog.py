"""The event-type catalog, and validation of event data against its schemas."""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from hookline.domain.limits import MAX_SCHEMA_VERSIONS, SCHEMA_VERSION_PATTERN
from hookline.domain.matching import is_valid_event_type
from hookline.domain.models import FIRST_VERSION, EventType, SchemaVersion
from hookline.errors import Conflict, Invalid, NotFound
from hookline.ids import now_ms
from hookline.service.access import Action, Principal
from hookline.service.context import Context, clamp_limit
from hookline.store.port import Page

MAX_SCHEMA_ERRORS = 20
_VERSION_RE = re.compile(SCHEMA_VERSION_PATTERN)
# Retrieves nothing: a schema's $ref never makes Hookline fetch a URL.
NO_REMOTE_REFS: Registry[Any] = Registry()


class Catalog:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = ctx.store
        # A compiled validator per (type, version), with the type's updated_at it was made for.
        self._validators: dict[tuple[str, str], tuple[int, Draft202012Validator]] = {}

    async def create(self, who: Principal, body: dict[str, Any]) -> EventType:
        who.require_admin("change the event catalog")
        name = body["name"]
        if not is_valid_event_type(name):
            raise Invalid(
                "An event type name is 1-128 of letters, digits and _ . : / - "
                "starting with a letter or digit.",
                code="invalid_event_type",
            )
        now = now_ms()
        et = EventType(
            name=name,
            category=body.get("category") or _first_segment(name),
            description=body.get("description") or "",
            versions=_versions(body, {}),
            deprecated=bool(body.get("deprecated")),
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
        changed = EventType(
            name=et.name,
            category=body.get("category") or et.category,
            description=body["description"]
            if body.get("description") is not None
            else et.description,
            versions=_versions(body, et.versions),
            deprecated=bool(body["deprecated"])
            if body.get("deprecated") is not None
            else et.deprecated,
            archived=bool(body["archived"]) if body.get("archived") is not None else et.archived,
            created_at=et.created_at,
            updated_at=now_ms(),
        )
        await self.store.update_event_type(changed)
        return changed

    async def archive(self, who: Principal, name: str) -> EventType:
        return await self.update(who, name, {"archived": True})

    async def validate_event(
        self, event_type: str, data: dict[str, Any], version: str | None = None
    ) -> None:
        """Check ``data`` against the schema of the version it follows (``None``: the type's
        latest); in strict mode, the type must exist.

        The type is read from the configuration cache and the compiled validator is kept per
        (type, version): ingestion alone calls this, and its insert checks that the cache is
        current.
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
        version = et.latest if version is None else version
        if version is None:
            return
        chosen = et.versions.get(version)
        if chosen is None:
            known = ", ".join(et.versions) or "none"
            raise Invalid(
                f"Event type {event_type!r} has no schema version {version!r} "
                f"(its versions: {known}).",
                code="unknown_schema_version",
                details=[{"path": "/schemaVersion", "message": f"known versions: {known}"}],
            )
        if chosen.schema is None:
            return
        key = (et.name, version)
        cached = self._validators.get(key)
        if cached is None or cached[0] != et.updated_at:
            cached = (et.updated_at, Draft202012Validator(chosen.schema, registry=NO_REMOTE_REFS))
            self._validators[key] = cached
        validator = cached[1]
        try:
            errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        except Unresolvable as exc:
            raise Invalid(
                f"The schema of {event_type!r} has a $ref that cannot be resolved: {exc}.",
                code="schema_violation",
            ) from exc
        if errors:
            raise Invalid(
                f"The data does not match version {version} of the schema of {event_type!r}.",
                code="schema_violation",
                details=[
                    {"path": "/" + "/".join(str(p) for p in e.absolute_path), "message": e.message}
                    for e in errors[:MAX_SCHEMA_ERRORS]
                ],
            )


def parse_schema_version(value: Any) -> str | None:
    """An event's ``schemaVersion``: absent, or a positive integer (as a number or as text)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _VERSION_RE.fullmatch(value):
        raise Invalid(
            'schemaVersion is a positive integer, as a number or as text ("2").',
            code="invalid_schema_version",
        )
    return value


def _versions(body: dict[str, Any], current: dict[str, SchemaVersion]) -> dict[str, SchemaVersion]:
    """The versions after ``body``: ``schemas``/``examples`` replace every version's schema or
    example (a version ``schemas`` leaves out loses its example too); ``schema``/``example``
    set version "1"'s alone."""
    for one, many, code in (
        ("schema", "schemas", "invalid_schema"),
        ("example", "examples", "invalid_example"),
    ):
        if one in body and many in body:
            raise Invalid(f"Give {one} (version 1) or {many}, not both.", code=code)
    schemas = {v: sv.schema for v, sv in current.items() if sv.schema is not None}
    examples = {v: sv.example for v, sv in current.items() if sv.example is not None}
    if "schemas" in body:
        given = body["schemas"] or {}
        if not isinstance(given, dict):
            raise Invalid("schemas maps versions to JSON Schemas.", code="invalid_schema")
        schemas = {
            _version_key(v, "schemas", "invalid_schema"): _checked_schema(s, v)
            for v, s in given.items()
        }
        if "examples" not in body:  # a version removed goes with its example
            examples = {v: e for v, e in examples.items() if v in schemas}
    if "schema" in body:
        schemas.pop(FIRST_VERSION, None)
        if body["schema"] is not None:
            schemas[FIRST_VERSION] = _checked_schema(body["schema"], FIRST_VERSION)
    if "examples" in body:
        given = body["examples"] or {}
        if not isinstance(given, dict):
            raise Invalid("examples maps versions to example data.", code="invalid_example")
        examples = {
            _version_key(v, "examples", "invalid_example"): e
            for v, e in given.items()
            if e is not None
        }
    if "example" in body:
        examples.pop(FIRST_VERSION, None)
        if body["example"] is not None:
            examples[FIRST_VERSION] = body["example"]
    orphans = sorted(set(examples) - set(schemas) - {FIRST_VERSION}, key=int)
    if orphans:
        raise Invalid(
            f"examples has version {orphans[0]}, which has no schema.", code="invalid_example"
        )
    names = sorted(set(schemas) | set(examples), key=int)
    if len(names) > MAX_SCHEMA_VERSIONS:
        raise Invalid(
            f"An event type keeps at most {MAX_SCHEMA_VERSIONS} schema versions.",
            code="invalid_schema",
        )
    versions = {v: SchemaVersion(schema=schemas.get(v), example=examples.get(v)) for v in names}
    for v, sv in versions.items():
        _check_example(sv.schema, sv.example, v)
    return versions


def _version_key(value: Any, field: str, code: str) -> str:
    if not isinstance(value, str) or not _VERSION_RE.fullmatch(value):
        raise Invalid(
            f'{field} is keyed by version: a positive integer as text ("1", "2"), not {value!r}.',
            code=code,
        )
    return value


def _first_segment(name: str) -> str:
    for i, ch in enumerate(name):
        if ch in "./:":
            return name[:i]
    return name


def _checked_schema(schema: Any, version: str) -> dict[str, Any]:
    if not isinstance(schema, dict):
        raise Invalid(
            f"The schema of version {version} must be a JSON Schema object.",
            code="invalid_schema",
        )
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise Invalid(
            f"The schema of version {version} is not a valid JSON Schema: {exc.message}",
            code="invalid_schema",
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


def _check_example(schema: dict[str, Any] | None, example: Any, version: str) -> None:
    if example is None:
        return
    if not isinstance(example, dict):
        raise Invalid(
            f"The example of version {version} must be a JSON object (an event's data).",
            code="invalid_example",
        )
    if schema is not None:
        validator = Draft202012Validator(schema, registry=NO_REMOTE_REFS)
        error = next(iter(validator.iter_errors(example)), None)
        if error is not None:
            raise Invalid(
                f"The example of version {version} does not match its schema: {error.message}",
                code="invalid_example",
            )
