"""Event ingestion (single and batch, idempotent) and event reads.

While the store is out of space, events are refused at once (``StorageFull``, 503), before
anything is parsed, validated or fanned out: whatever space comes back goes first to the
outcomes of attempts already made.

Each event accepted is traced by a span ``hookline.ingest`` of its own, also in a batch
(one trace per event), a child of the current context: the producer's trace when its
request carries one (``tracing.InboundContext``). The span's context is stored with the event's deliveries (``tracing.py``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from hookline import tracing
from hookline.domain import channels, jsjson
from hookline.domain.matching import is_valid_event_type, matches_any
from hookline.domain.models import Delivery, Event, Webhook
from hookline.domain.workspace_settings import TTL_RULE, parse_ttl
from hookline.errors import (
    BadRequest,
    HooklineError,
    Invalid,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
)
from hookline.ids import new_id, now_ms
from hookline.service.access import Action, Principal
from hookline.service.catalog import Catalog, parse_schema_version
from hookline.service.context import Context, clamp_limit
from hookline.service.workspaces import Workspaces
from hookline.store.port import Inserted, NewEvent, Page, StaleConfig

if TYPE_CHECKING:
    from opentelemetry.trace import Span

T = TypeVar("T")
IDEMPOTENCY_RE = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
MAX_BATCH = 1000
# Tries of an ingest against a configuration that keeps changing; the last checks nothing.
STALE_TRIES = 3


@dataclass(frozen=True, kw_only=True, slots=True)
class Accepted:
    """An event as the API reports it: ``created`` is false for an idempotent repeat."""

    event: Event
    created: bool
    deliveries: int


class Events:
    def __init__(self, ctx: Context, workspaces: Workspaces, catalog: Catalog) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.workspaces = workspaces
        self.catalog = catalog

    async def ingest(
        self,
        who: Principal,
        ws_id: str,
        raw: bytes,
        idempotency_key: str | None,
    ) -> Accepted:
        span = tracing.start("hookline.ingest")
        try:
            accepted = await self._ingest(who, ws_id, raw, idempotency_key, span)
        except BaseException as exc:
            tracing.failed(span, exc)
            raise
        else:
            _traced(span, accepted)
        finally:
            span.end()
        return accepted

    async def _ingest(
        self,
        who: Principal,
        ws_id: str,
        raw: bytes,
        idempotency_key: str | None,
        span: Span,
    ) -> Accepted:
        await self.store.ensure_writable()

        async def once(version: int | None) -> Accepted:
            ws = await self.workspaces.get(who, ws_id, Action.PUBLISH, cached=True)
            if len(raw) > self.body_limit(batch=False):
                raise PayloadTooLarge(
                    f"The event is {len(raw)} bytes; the limit is {self.body_limit(batch=False)}."
                )
            body = _parse(raw)
            if idempotency_key is not None and isinstance(body, dict) and body.get("id") is None:
                body = {**body, "id": idempotency_key}
            event, ttl = await self._prepare(ws_id, body)
            hooks = await self._subscribers(ws_id)
            (inserted,) = await self.store.insert_events(
                [
                    _fan_out(
                        event,
                        body["data"],
                        hooks,
                        tracing.context_of(span),
                        _expires_at(event, ttl or ws.settings.ttl),
                    )
                ],
                config_version=version,
            )
            return self._accepted(inserted)

        return await self._current(who, once)

    async def ingest_batch(
        self, who: Principal, ws_id: str, raw: bytes
    ) -> list[Accepted | HooklineError]:
        """Accept a batch: each event that reaches the insert gets a ``hookline.ingest`` span
        of its own."""
        await self.store.ensure_writable()

        async def once(version: int | None) -> list[Accepted | HooklineError]:
            ws = await self.workspaces.get(who, ws_id, Action.PUBLISH, cached=True)
            limit = self.body_limit(batch=True)
            if len(raw) > limit:
                raise PayloadTooLarge(f"The batch is {len(raw)} bytes; the limit is {limit}.")
            body = _parse(raw)
            items = body.get("events") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise Invalid('The body must be {"events": [ … ]}.', code="invalid_batch")
            if not 1 <= len(items) <= MAX_BATCH:
                raise Invalid(f"A batch holds 1 to {MAX_BATCH} events.", code="invalid_batch")
            results: list[Accepted | HooklineError | None] = []
            ready: list[tuple[int, Event, int | None]] = []
            for item in items:
                try:
                    event, ttl = await self._prepare(ws_id, item)
                except HooklineError as exc:
                    results.append(exc)
                    continue
                size = len(event.data_json.encode())
                if size > self.ctx.settings.max_event_bytes:
                    results.append(PayloadTooLarge(f"The event's data is {size} bytes."))
                    continue
                ready.append((len(results), event, ttl or ws.settings.ttl))
                results.append(None)
            if len(ready) < len(items) and version is not None:
                await self._check(version)  # the refusals came from current reads
            if ready:
                hooks = await self._subscribers(ws_id)
                spans = [tracing.start("hookline.ingest") for _ in ready]
                try:
                    inserted = await self.store.insert_events(
                        [
                            _fan_out(
                                e, items[i]["data"], hooks, tracing.context_of(s), _expires_at(e, t)
                            )
                            for (i, e, t), s in zip(ready, spans, strict=True)
                        ],
                        config_version=version,
                    )
                except StaleConfig:
                    raise  # spans never ended are never exported: the next try has its own
                except BaseException as exc:
                    for s in spans:
                        tracing.failed(s, exc)
                        s.end()
                    raise
                for (index, _, _), done, s in zip(ready, inserted, spans, strict=True):
                    results[index] = accepted = self._accepted(done)
                    _traced(s, accepted)
                    s.end()
            return [r for r in results if r is not None]

        return await self._current(who, once)

    async def _current(self, who: Principal, once: Callable[[int | None], Awaitable[T]]) -> T:
        """Run ``once`` with the configuration cache's version until the cache was current.

        The insert refuses a version the configuration has moved past; a refusal of the
        event (a 404, a schema violation…) never reaches the insert, so it is checked
        against the counter before it is given. The last try checks nothing: its reads are
        fresh (made after the cache started over), as every read was before caching.
        """
        for attempt in range(STALE_TRIES):
            version = await self.ctx.cache.version() if attempt < STALE_TRIES - 1 else None
            try:
                try:
                    return await once(version)
                except HooklineError:
                    if version is not None:
                        await self._check(version)
                    raise
            except StaleConfig:
                await self._start_over(who)
        raise AssertionError("unreachable: the last try checks no version")

    async def _check(self, version: int) -> None:
        if await self.store.config_version() != version:
            raise StaleConfig

    async def _start_over(self, who: Principal) -> None:
        """The configuration changed: read it afresh, the caller's key first."""
        self.ctx.cache.reset()
        if not who.is_admin and await self.store.get_api_key(who.key_id) is None:
            raise Unauthorized("The API key is unknown or revoked.")

    async def _subscribers(self, ws_id: str) -> list[Webhook]:
        return await self.ctx.cache.get(
            "subscribers", ws_id, lambda: self.store.subscribed_webhooks(ws_id)
        )

    def body_limit(self, *, batch: bool) -> int:
        """The largest request body an event (or a batch of them) may have, in bytes."""
        single = self.ctx.settings.max_event_bytes
        return single * 4 + MAX_BATCH * 256 if batch else single

    def _accepted(self, inserted: Inserted) -> Accepted:
        if inserted.created:
            self.ctx.metrics.events_ingested.inc()
            if inserted.due:
                self.ctx.wake()
        return Accepted(
            event=inserted.event, created=inserted.created, deliveries=inserted.deliveries
        )

    async def _prepare(self, ws_id: str, body: Any) -> tuple[Event, int | None]:
        """The event a body gives, and its own ttl (None: the workspace's default)."""
        if not isinstance(body, dict):
            raise Invalid("An event is a JSON object with type and data.", code="invalid_event")
        event_type = body.get("type")
        if not isinstance(event_type, str) or not is_valid_event_type(event_type):
            raise Invalid(
                "type is required: 1-128 of letters, digits and _ . : / - "
                "starting with a letter or digit.",
                code="invalid_event_type",
            )
        data = body.get("data")
        if not isinstance(data, dict):
            raise Invalid("data is required and must be a JSON object.", code="invalid_data")
        event_id = body.get("id")
        if event_id is None:
            event_id = new_id("evt")
        elif not isinstance(event_id, str) or not IDEMPOTENCY_RE.fullmatch(event_id):
            raise Invalid("id is 1-128 of letters, digits and _ . : -.", code="invalid_id")
        unknown = set(body) - {"type", "data", "id", "channels", "schemaVersion", "ttl"}
        if unknown:
            raise Invalid(f"Unknown field(s): {', '.join(sorted(unknown))}.", code="invalid_event")
        version = parse_schema_version(body.get("schemaVersion"))
        ttl = body.get("ttl")
        if ttl is not None:
            ttl = parse_ttl(ttl)
            if ttl is None:
                raise Invalid(f"ttl {TTL_RULE}.", code="invalid_ttl")
        await self.catalog.validate_event(event_type, data, version)
        event = Event(
            id=event_id,
            workspace_id=ws_id,
            type=event_type,
            data_json=jsjson.dumps(data),
            created_at=now_ms(),
            channels=channels.parse(body.get("channels")),
        )
        return event, ttl

    async def get(self, who: Principal, event_id: str) -> tuple[Event, list[Delivery]]:
        event = await self.store.get_event(event_id, ws_id=who.workspace_id)
        if event is None:
            raise NotFound("No such event.")
        who.check(event.workspace_id, Action.READ, "event")
        deliveries = await self.store.list_event_deliveries(event.workspace_id, event.id)
        return event, deliveries

    async def list(
        self,
        who: Principal,
        ws_id: str,
        *,
        type: str | None,
        since: int | None,
        until: int | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[Event]:
        await self.workspaces.get(who, ws_id)
        return await self.store.list_events(
            ws_id, type=type, since=since, until=until, limit=clamp_limit(limit), cursor=cursor
        )


def _parse(raw: bytes) -> Any:
    try:
        return jsjson.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}", code="malformed_json") from exc


def _expires_at(event: Event, ttl: int | None) -> int | None:
    """When the event's deliveries stop being worth attempting (epoch ms); None: never."""
    return None if ttl is None else event.created_at + ttl * 1000


def _fan_out(
    event: Event,
    data: dict[str, Any],
    hooks: list[Webhook],
    trace_context: str | None,
    expires_at: int | None,
) -> NewEvent:
    """The deliveries of ``event`` (whose ``data`` is given as parsed): one per webhook
    subscribed to its type and reached by its channels whose filter, if it has one, the data
    passes."""
    targets = [
        h.id
        for h in hooks
        if matches_any(h.events, event.type)
        and channels.reaches(h.channels, event.channels)
        and (h.filter is None or h.filter.matches(data))
    ]
    return NewEvent(
        event=event,
        webhook_ids=targets,
        delivery_ids=[new_id("dlv") for _ in targets],
        trace_context=trace_context,
        expires_at=expires_at,
    )


def _traced(span: Span, accepted: Accepted) -> None:
    """Describe the ingested event on its span."""
    event = accepted.event
    tracing.describe(
        span,
        {
            "hookline.event.id": event.id,
            "hookline.event.type": event.type,
            "hookline.workspace.id": event.workspace_id,
            "hookline.deliveries": accepted.deliveries,
            "hookline.event.created": accepted.created,
        },
    )
