"""The Send Logs: deliveries and attempts; resend, recover and test.

A resend, a recovery and a test ping are each traced by a span of their own
(``hookline.resend``, ``hookline.recover``, ``hookline.test``, a child of the request's
trace if it has one), stored with the deliveries they create as an ingest span is. A
resend's and a recovery's span links to the spans that created the deliveries resent.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import Any

from hookline import tracing
from hookline.domain import jsjson
from hookline.domain.headers import is_reserved, redacted
from hookline.domain.models import Attempt, Delivery, DeliveryStatus, Event, EventType, Webhook
from hookline.domain.retry import Remaining, RetryPolicy, remaining
from hookline.domain.statuses import WebhookStatus
from hookline.errors import Conflict, Invalid, NotFound
from hookline.ids import new_id, now_ms
from hookline.service.access import Action, Principal
from hookline.service.context import MAX_LIMIT, Context, clamp_limit
from hookline.service.webhooks import Webhooks
from hookline.service.workspaces import Workspaces
from hookline.store.port import DeliveryFilter, EndpointHealth, Page

IN_PROGRESS = frozenset({DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.HELD})
# What recover may resend; only failed ones unless asked.
RECOVERABLE = frozenset({DeliveryStatus.FAILED, DeliveryStatus.SUCCEEDED, DeliveryStatus.EXPIRED})
TEST_WAIT_MARGIN = 5.0
ACTIVITY_MAX_DELIVERIES = 5000
ACTIVITY_ATTEMPT_SAMPLE = 100
# Links a recovery's span keeps to the spans of the deliveries it resends (the SDK's default limit).
MAX_LINKS = 128


@dataclass(frozen=True, kw_only=True, slots=True)
class Activity:
    """A webhook's recent deliveries (newest first) and the attempts of the latest of them."""

    deliveries: list[Delivery]
    attempts: list[Attempt]
    truncated: bool  # more deliveries in the window than ACTIVITY_MAX_DELIVERIES


class Deliveries:
    def __init__(self, ctx: Context, workspaces: Workspaces, webhooks: Webhooks) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.workspaces = workspaces
        self.webhooks = webhooks

    async def search(
        self, who: Principal, flt: DeliveryFilter, *, limit: int | None, cursor: str | None
    ) -> Page[Delivery]:
        if flt.webhook_id is not None:
            await self.webhooks.get(who, flt.webhook_id)
        elif flt.workspace_id is not None:
            await self.workspaces.get(who, flt.workspace_id)
        return await self.store.list_deliveries(flt, limit=clamp_limit(limit), cursor=cursor)

    async def activity(self, who: Principal, wh_id: str, *, since: int) -> Activity:
        """Deliveries of ``wh_id`` created since ``since`` (at most ACTIVITY_MAX_DELIVERIES)
        and the attempts of the latest ACTIVITY_ATTEMPT_SAMPLE that made any."""
        await self.webhooks.get(who, wh_id)
        flt = DeliveryFilter(webhook_id=wh_id, since=since)
        found: list[Delivery] = []
        cursor: str | None = None
        while len(found) < ACTIVITY_MAX_DELIVERIES:
            page = await self.store.list_deliveries(flt, limit=MAX_LIMIT, cursor=cursor)
            found += page.items
            cursor = page.next_cursor
            if cursor is None:
                break
        attempts: list[Attempt] = []
        for dlv in [d for d in found if d.attempt_count > 0][:ACTIVITY_ATTEMPT_SAMPLE]:
            attempts += await self.store.list_attempts(dlv.id)
        return Activity(
            deliveries=found[:ACTIVITY_MAX_DELIVERIES],
            attempts=attempts,
            truncated=cursor is not None,
        )

    async def get(self, who: Principal, dlv_id: str, action: Action = Action.READ) -> Delivery:
        dlv = await self.store.get_delivery(dlv_id)
        if dlv is None or not who.sees(dlv.workspace_id):
            raise NotFound("No such delivery.")
        who.check(dlv.workspace_id, action, "delivery")
        return dlv

    async def detail(
        self, who: Principal, dlv_id: str
    ) -> tuple[Delivery, Event | None, list[Attempt]]:
        dlv = await self.get(who, dlv_id)
        event = await self.store.get_event_of_delivery(dlv_id)
        return dlv, event, await self._shown(who, dlv, await self.store.list_attempts(dlv_id))

    async def remaining(self, who: Principal, dlv: Delivery) -> Remaining | None:
        """The attempts left to ``dlv`` while it is pending, from its webhook's effective
        retry policy; None otherwise."""
        if dlv.status is not DeliveryStatus.PENDING or dlv.next_attempt_at is None:
            return None
        wh = await self.webhooks.get(who, dlv.webhook_id)
        ws = await self.workspaces.get(who, dlv.workspace_id)
        policy = RetryPolicy.resolve(
            self.ctx.settings.retry_policy, ws.settings.retry_policy, wh.retry_policy
        )
        return remaining(
            policy, made=dlv.attempt_count, next_at=dlv.next_attempt_at, expires_at=dlv.expires_at
        )

    async def retry_now(self, who: Principal, dlv_id: str) -> Delivery:
        """Move a pending delivery's next attempt to now and wake the dispatcher; no new
        delivery. Conflict when it is not pending (see ``retry_refusal``) or when its webhook
        is FIFO and an older delivery goes first."""
        dlv = await self.get(who, dlv_id, Action.MANAGE)
        wh = await self.webhooks.get(who, dlv.webhook_id)
        if dlv.status is DeliveryStatus.PENDING:
            now = now_ms()
            moved = await self.store.retry_now(dlv.id, now=now)
            if moved is None:
                raise NotFound("No such delivery.")
            if moved.status is DeliveryStatus.PENDING and moved.next_attempt_at != now:
                raise Conflict(
                    "The endpoint takes its deliveries in order (FIFO) and an older one is "
                    "still unfinished; retry that one first.",
                    code="delivery_queued",
                )
            if moved.status is DeliveryStatus.PENDING:
                self.ctx.wake()
                return moved
            dlv = moved
        raise retry_refusal(dlv, wh)

    async def resend(self, who: Principal, dlv_id: str) -> Delivery:
        dlv = await self.get(who, dlv_id, Action.MANAGE)
        wh = await self.webhooks.get(who, dlv.webhook_id)
        if wh.status is WebhookStatus.DISABLED:
            raise Conflict(
                "The webhook is disabled; enable it before resending.", code="webhook_disabled"
            )
        if dlv.status in IN_PROGRESS:
            raise Conflict(
                f"The delivery is still {dlv.status.value}; wait until it finishes.",
                code="delivery_in_progress",
            )
        with tracing.span("hookline.resend", links=await self._origins([dlv_id])) as span:
            created = await self.store.resend(
                [dlv_id],
                new_ids=[new_id("dlv")],
                tag="resent",
                now=now_ms(),
                trace_context=tracing.context_of(span),
            )
            tracing.describe(
                span,
                {
                    "hookline.delivery.id": dlv_id,
                    "hookline.webhook.id": wh.id,
                    "hookline.workspace.id": wh.workspace_id,
                    "hookline.deliveries": len(created),
                },
            )
        if not created:
            raise Conflict(
                "The webhook is disabled; enable it before resending.", code="webhook_disabled"
            )
        self.ctx.wake()
        return created[0]

    async def recover(self, who: Principal, wh_id: str, body: dict[str, Any]) -> int:
        wh = await self.webhooks.get(who, wh_id, Action.MANAGE)
        if wh.status is WebhookStatus.DISABLED:
            raise Conflict(
                "The webhook is disabled; enable it before recovering.", code="webhook_disabled"
            )
        statuses = body.get("statuses") or [DeliveryStatus.FAILED]
        if not set(statuses) <= RECOVERABLE:
            raise Invalid(
                'statuses may hold "failed", "succeeded" and "expired".', code="invalid_statuses"
            )
        since, until = body["since"], body.get("until")
        if until is not None and until <= since:
            raise Invalid("until must be after since.", code="invalid_time_range")
        ids = await self.store.recoverable(
            wh_id, since=since, until=until, statuses=[DeliveryStatus(s) for s in statuses]
        )
        if not ids:
            return 0
        with tracing.span("hookline.recover", links=await self._origins(ids)) as span:
            created = await self.store.resend(
                ids,
                new_ids=[new_id("dlv") for _ in ids],
                tag="recovered",
                now=now_ms(),
                trace_context=tracing.context_of(span),
            )
            tracing.describe(
                span,
                {
                    "hookline.webhook.id": wh.id,
                    "hookline.workspace.id": wh.workspace_id,
                    "hookline.deliveries": len(created),
                },
            )
        self.ctx.wake()
        return len(created)

    async def test(self, who: Principal, wh_id: str) -> tuple[Delivery, list[Attempt]]:
        """A test ping: an event of type ``test`` with empty data."""
        return await self._test(who, wh_id, "test", "{}")

    async def send_example(
        self, who: Principal, wh_id: str, et: EventType
    ) -> tuple[Delivery, list[Attempt]]:
        """The catalog's example of ``et`` sent to ``wh_id`` now, as a test (flagged ``test``
        in its envelope, tagged ``test``), whether or not the webhook subscribes to it."""
        example = et.latest_example
        if example is None:
            raise Invalid(
                f"The latest schema version of the event type {et.name!r} has no example.",
                code="no_example",
            )
        return await self._test(who, wh_id, et.name, jsjson.dumps(example))

    async def _test(
        self, who: Principal, wh_id: str, type: str, data_json: str
    ) -> tuple[Delivery, list[Attempt]]:
        """Send a test event now and wait (up to the policy's timeout and a margin) for its
        first attempt."""
        wh = await self.webhooks.get(who, wh_id, Action.MANAGE)
        if wh.status is WebhookStatus.DISABLED:
            raise Conflict(
                "The webhook is disabled; enable it to test it.", code="webhook_disabled"
            )
        ws = await self.workspaces.get(who, wh.workspace_id)
        now = now_ms()
        event = Event(
            id=new_id("evt"), workspace_id=ws.id, type=type, data_json=data_json, created_at=now
        )
        with tracing.span("hookline.test") as span:
            dlv = await self.store.insert_test_delivery(
                event, wh.id, new_id("dlv"), trace_context=tracing.context_of(span)
            )
            tracing.describe(
                span,
                {
                    "hookline.event.id": event.id,
                    "hookline.event.type": event.type,
                    "hookline.webhook.id": wh.id,
                    "hookline.workspace.id": ws.id,
                    "hookline.deliveries": 1,
                },
            )
        self.ctx.wake()
        policy = RetryPolicy.resolve(
            self.ctx.settings.retry_policy, ws.settings.retry_policy, wh.retry_policy
        )
        deadline = time.monotonic() + policy.timeout + TEST_WAIT_MARGIN
        while time.monotonic() < deadline:
            attempts = await self.store.list_attempts(dlv.id)
            if attempts:
                current = await self.store.get_delivery(dlv.id)
                return current or dlv, attempts[:1]
            await asyncio.sleep(0.02)
        return dlv, []

    async def _origins(self, dlv_ids: list[str]) -> list[str]:
        """The stored trace contexts of ``dlv_ids``, for links (none read while tracing is off)."""
        if not tracing.enabled():
            return []
        return await self.store.trace_contexts(dlv_ids[:MAX_LINKS])

    async def _shown(self, who: Principal, dlv: Delivery, attempts: list[Attempt]) -> list[Attempt]:
        """The attempts as ``who`` may see them: custom credentials redacted (also in attempts
        recorded before they were redacted when stored) and, below admin, every other custom
        header value masked. A custom header is one the webhook has, or one Hookline does not
        set itself (the webhook may have had it when the attempt was made)."""
        if not attempts:
            return attempts
        wh = await self.store.get_webhook(dlv.webhook_id)
        ws = await self.store.get_workspace(dlv.workspace_id)
        custom = set(wh.headers) if wh else set()
        brand = self.ctx.brand(ws) if ws else ""

        def is_custom(name: str) -> bool:
            return name in custom or not (brand and is_reserved(name, brand))

        mask = not who.sees_secrets
        return [
            replace(
                a,
                request={
                    **a.request,
                    "headers": redacted(a.request.get("headers") or {}, is_custom, mask=mask),
                },
            )
            for a in attempts
        ]

    async def health(
        self, who: Principal, ws_id: str, webhooks: list[Webhook], *, since: int
    ) -> dict[str, EndpointHealth]:
        """The health of each of ``webhooks`` of workspace ``ws_id`` that has made an
        attempt: its last attempt, its failures in a row, its attempts per hour since
        ``since``; counted from attempts, so a delivery still retried counts too."""
        await self.workspaces.get(who, ws_id)
        return await self.store.webhook_health(
            [w.id for w in webhooks if w.workspace_id == ws_id], since=since
        )


def retry_refusal(dlv: Delivery, wh: Webhook) -> Conflict:
    """Why a delivery that is not pending cannot be retried now, with its code:
    ``webhook_disabled`` or ``webhook_paused`` (a held delivery waits for its endpoint),
    ``delivery_in_progress`` (an attempt is under way), ``delivery_finished`` (it succeeded
    or failed: resend it instead)."""
    if dlv.status is DeliveryStatus.HELD or wh.status is not WebhookStatus.ACTIVE:
        if wh.status is WebhookStatus.DISABLED:
            return Conflict(
                "The endpoint is disabled; enable it and its held deliveries go out.",
                code="webhook_disabled",
            )
        return Conflict(
            "The endpoint is paused; its deliveries wait until it is resumed, then go out "
            "oldest first.",
            code="webhook_paused",
        )
    if dlv.status is DeliveryStatus.SENDING:
        return Conflict(
            "An attempt of this delivery is under way now.", code="delivery_in_progress"
        )
    return Conflict(
        f"The delivery has {dlv.status.value}; resend it to send the event again.",
        code="delivery_finished",
    )
