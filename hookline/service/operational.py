"""Operational webhooks: Hookline telling the operator what happens to its customers' endpoints.

They are ordinary events of one workspace of the operator's, ``ws_operator``, delivered to
its webhooks, so they are signed, retried, logged, resent and shown like any delivery.
Which webhooks: those of the operator workspace whose ``metadata.workspace`` names the
workspace the event is about (a per-workspace override) and, when there is none, those
without that key (the deployment's, among them the one ``HOOKLINE_OPERATOR_WEBHOOK_URL``
keeps). Nothing is told about the operator workspace's own webhooks, so a failing
operator endpoint cannot feed itself.

Telling never fails the change it tells of: a fault here is logged and dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hookline.domain import jsjson
from hookline.domain.matching import matches_any
from hookline.domain.models import Event, Webhook
from hookline.domain.webhook_commands import parse_change, parse_create
from hookline.errors import Conflict
from hookline.ids import format_ms, new_id, now_ms
from hookline.service.access import Principal
from hookline.store.port import NewEvent, Store

if TYPE_CHECKING:
    from hookline.service import Services

log = logging.getLogger("hookline.operational")

OPERATOR_WORKSPACE = "ws_operator"
# metadata of the webhook HOOKLINE_OPERATOR_WEBHOOK_URL keeps, and of per-workspace overrides
DEPLOYMENT_MARK = {"hookline": "deployment"}
SCOPE_KEY = "workspace"
# How long a process trusts its reading of whether the operator workspace exists.
ENABLED_TTL_SECONDS = 10.0

_ENDPOINT = {
    "workspaceId": {"type": "string", "description": "The customer's workspace."},
    "webhookId": {"type": "string"},
    "url": {"type": "string", "description": "The endpoint's URL."},
    "name": {"type": "string"},
    "at": {"type": "string", "format": "date-time", "description": "When it happened."},
}
_BY = {"by": {"type": "string", "description": "Who: a key id, admin or system."}}
_DELIVERY = {
    "deliveryId": {"type": "string"},
    "eventId": {"type": "string"},
    "eventType": {"type": "string"},
    "attemptCount": {"type": "integer"},
    "lastStatusCode": {"type": ["integer", "null"]},
    "lastError": {"type": ["string", "null"]},
}
_BASE = ["workspaceId", "webhookId", "url", "at"]


def _schema(extra: Mapping[str, Any], required: Iterable[str] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {**_ENDPOINT, **extra},
        "required": [*_BASE, *required],
    }


@dataclass(frozen=True)
class OperationalType:
    name: str
    description: str
    schema: dict[str, Any]


TYPES = (
    OperationalType(
        "endpoint.paused",
        "A webhook was paused: by Hookline when its retry policy pauses it after a delivery "
        "exhausted its retries (by: system), or by a person.",
        _schema({**_BY, "reason": {"type": ["string", "null"]}}, ["by"]),
    ),
    OperationalType(
        "endpoint.disabled",
        "A webhook was disabled: by Hookline when its endpoint answered 410 Gone (reason "
        "endpoint_gone), or by a user. Matching events create no delivery for it.",
        _schema({**_BY, "reason": {"type": ["string", "null"]}}, ["by"]),
    ),
    OperationalType(
        "endpoint.recovered",
        "A webhook whose last attempts failed accepted a delivery again.",
        _schema({"deliveryId": {"type": "string"}, "failingSince": {"type": "string"}}),
    ),
    OperationalType(
        "delivery.exhausted",
        "A delivery failed for good: its last attempt failed, or its answer is not retried.",
        _schema(_DELIVERY, ["deliveryId", "attemptCount"]),
    ),
    OperationalType(
        "delivery.expired",
        "A delivery ended unsent: its next attempt would have started after its event's ttl "
        "ran out (attemptCount: the attempts it had, maybe none).",
        _schema(_DELIVERY, ["deliveryId", "attemptCount"]),
    ),
    OperationalType(
        "endpoint.secret_rotated",
        "A webhook's signing secret was rotated; the old one signs until graceUntil.",
        _schema({**_BY, "graceUntil": {"type": ["string", "null"]}}, ["by"]),
    ),
)
TYPE_NAMES = tuple(t.name for t in TYPES)


@dataclass(frozen=True, kw_only=True)
class Notice:
    """One operational event to tell: its type, the webhook it is about, its other fields."""

    type: str
    webhook: Webhook
    fields: Mapping[str, Any]


def about(wh: Webhook, at: int, **fields: Any) -> dict[str, Any]:
    return {
        "workspaceId": wh.workspace_id,
        "webhookId": wh.id,
        "url": wh.url,
        "name": wh.name,
        "at": format_ms(at),
        **fields,
    }


class Operational:
    """Emits operational events into the operator workspace."""

    def __init__(
        self,
        store: Store,
        wake: Callable[[], None],
        *,
        faulted: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.wake = wake
        self._faulted = faulted  # counts a fault of ours (a metric, in the dispatcher)
        self._enabled: tuple[float, bool] = (-ENABLED_TTL_SECONDS, False)

    async def enabled(self) -> bool:
        """Whether the operator workspace exists (read at most every few seconds)."""
        read_at, value = self._enabled
        if time.monotonic() - read_at < ENABLED_TTL_SECONDS:
            return value
        value = await self.store.get_workspace(OPERATOR_WORKSPACE) is not None
        self._enabled = (time.monotonic(), value)
        return value

    async def tell(self, notices: Iterable[Notice]) -> int:
        """Insert each notice as an event with its deliveries; how many events. Never raises."""
        try:
            return await self._tell(
                [n for n in notices if n.webhook.workspace_id != OPERATOR_WORKSPACE]
            )
        except Exception:
            log.exception("operational webhooks could not be written; they are dropped")
            self._faulted()
            return 0

    async def _tell(self, notices: list[Notice]) -> int:
        if not notices or not await self.enabled():
            return 0
        hooks = await self.store.subscribed_webhooks(OPERATOR_WORKSPACE)
        batch = []
        for notice in notices:
            targets = _targets(hooks, notice.type, notice.webhook.workspace_id)
            if not targets:
                continue
            event = Event(
                id=new_id("evt"),
                workspace_id=OPERATOR_WORKSPACE,
                type=notice.type,
                data_json=jsjson.dumps(dict(notice.fields)),
                created_at=now_ms(),
            )
            ids = [h.id for h in targets]
            batch.append(
                NewEvent(event=event, webhook_ids=ids, delivery_ids=[new_id("dlv") for _ in ids])
            )
        if batch:
            await self.store.insert_events(batch)
            self.wake()
            for new in batch:
                log.info("operational %s about %s", new.event.type, new.event.data_json[:200])
        return len(batch)

    async def routes(self, who: Principal, workspace_id: str) -> list[Route] | None:
        """Which operator webhooks take each operational event about ``workspace_id`` (none
        about the operator workspace itself); None when there is no operator workspace.
        The admin key's to know."""
        who.require_admin("see where operational events go")
        if await self.store.get_workspace(OPERATOR_WORKSPACE) is None:
            return None
        if workspace_id == OPERATOR_WORKSPACE:
            return [Route(type=kind, webhooks=[], scoped=False) for kind in TYPES]
        hooks = await self.store.subscribed_webhooks(OPERATOR_WORKSPACE)
        found = []
        for kind in TYPES:
            targets = _targets(hooks, kind.name, workspace_id)
            scoped = any(h.metadata.get(SCOPE_KEY) == workspace_id for h in targets)
            found.append(Route(type=kind, webhooks=targets, scoped=scoped))
        return found


@dataclass(frozen=True, kw_only=True)
class Route:
    """Where one type of operational event about a workspace goes: ``webhooks`` of the
    operator workspace, ``scoped`` when they are that workspace's own override."""

    type: OperationalType
    webhooks: list[Webhook]
    scoped: bool


def _targets(hooks: list[Webhook], event_type: str, workspace_id: str) -> list[Webhook]:
    """The operator webhooks an event of ``event_type`` about ``workspace_id`` goes to: those
    scoped to that workspace, else those scoped to none."""
    subscribed = [h for h in hooks if matches_any(h.events, event_type)]
    scoped = [h for h in subscribed if h.metadata.get(SCOPE_KEY) == workspace_id]
    return scoped or [h for h in subscribed if SCOPE_KEY not in h.metadata]


async def provision(services: Services, url: str, secret: str | None) -> Webhook:
    """Make sure the operator workspace, the catalog's operational types and the deployment's
    operator webhook at ``url`` exist; raises the service's ``Invalid`` if ``url`` is refused."""
    from hookline.service.access import ADMIN

    try:
        await services.workspaces.create(
            ADMIN, {"id": OPERATOR_WORKSPACE, "name": "Hookline operator"}
        )
    except Conflict:
        pass
    for kind in TYPES:
        try:
            await services.catalog.create(
                ADMIN,
                {
                    "name": kind.name,
                    "category": "hookline",
                    "description": kind.description,
                    "schema": kind.schema,
                },
            )
        except Conflict:
            pass
    page = await services.ctx.store.list_webhooks(
        OPERATOR_WORKSPACE, status=None, limit=250, cursor=None
    )
    mine = [wh for wh in page.items if wh.metadata == DEPLOYMENT_MARK]
    body: dict[str, Any] = {"url": url, "events": list(TYPE_NAMES)}
    if secret is not None:
        body["secret"] = secret
    if not mine:
        body |= {"name": "Operator (deployment)", "metadata": DEPLOYMENT_MARK}
        created: Webhook = await services.webhooks.create(
            ADMIN, OPERATOR_WORKSPACE, parse_create(body)
        )
        return created
    current = mine[0]
    if current.url != url or secret is not None:
        current = await services.webhooks.update(ADMIN, current.id, parse_change(body))
    return current
