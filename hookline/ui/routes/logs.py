"""The Send Logs of a webhook (filters, search, pages), one delivery with every attempt's
request and response and the attempts it has left, retry now, resend and bulk recover."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from fastapi import Response

from hookline.domain.models import DeliveryStatus
from hookline.domain.statuses import WebhookStatus
from hookline.errors import Conflict, Invalid
from hookline.ids import now_ms, parse_time
from hookline.service.deliveries import IN_PROGRESS, retry_refusal
from hookline.store.port import DeliveryFilter
from hookline.ui.web import PostedDep, ViewerDep, redirect, render, safe_next, ui_router

router = ui_router()
REFRESH_AHEAD_MS = 60_000

PAGE_SIZE = 50
STATUSES = [s.value for s in DeliveryStatus]
MAX_TEXT = 200


def parse_when(value: str, name: str, errors: dict[str, str]) -> int | None:
    """A time from a datetime-local field (UTC) or RFC 3339; an error message otherwise."""
    if not value.strip():
        return None
    try:
        return parse_time(value)
    except (ValueError, OverflowError, OSError):
        errors[name] = "Enter a time such as 2026-03-18T10:05 (UTC)."
        return None


@dataclass(kw_only=True)
class LogQuery:
    """The Send Logs filters as the form shows them, and the errors in them."""

    status: str = ""
    event_type: str = ""
    since: str = ""
    until: str = ""
    q: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def filter(self, wh_id: str) -> DeliveryFilter:
        since = parse_when(self.since, "since", self.errors)
        until = parse_when(self.until, "until", self.errors)
        if since is not None and until is not None and until <= since:
            self.errors["until"] = "The end must be after the start."
        return DeliveryFilter(
            webhook_id=wh_id,
            status=DeliveryStatus(self.status) if self.status in STATUSES else None,
            event_type=self.event_type.strip()[:MAX_TEXT] or None,
            since=since,
            until=until,
            q=self.q.strip()[:MAX_TEXT] or None,
        )

    @property
    def active(self) -> bool:
        return any((self.status, self.event_type, self.since, self.until, self.q))

    def link(self, path: str, cursor: str | None = None) -> str:
        params = {
            "status": self.status,
            "eventType": self.event_type,
            "since": self.since,
            "until": self.until,
            "q": self.q,
        }
        if cursor:
            params["cursor"] = cursor
        query = urlencode({k: v for k, v in params.items() if v})
        return f"{path}?{query}" if query else path


@router.get("/webhooks/{whId}/logs")
async def send_logs(
    whId: str,
    seen: ViewerDep,
    status: str = "",
    eventType: str = "",
    since: str = "",
    until: str = "",
    q: str = "",
    cursor: str | None = None,
) -> Response:
    wh = await seen.svc.webhooks.get(seen.who, whId)
    ws = await seen.svc.workspaces.get(seen.who, wh.workspace_id)
    query = LogQuery(status=status, event_type=eventType, since=since, until=until, q=q)
    flt = query.filter(wh.id)
    items, next_cursor = [], None
    if not query.errors:
        page = await seen.svc.deliveries.search(seen.who, flt, limit=PAGE_SIZE, cursor=cursor)
        items, next_cursor = page.items, page.next_cursor
    path = f"/ui/webhooks/{wh.id}/logs"
    return render(
        seen.request,
        "logs.html",
        status_code=422 if query.errors else 200,
        viewer=seen,
        workspace=ws,
        webhook=wh,
        deliveries=items,
        query=query,
        statuses=STATUSES,
        next_link=query.link(path, next_cursor) if next_cursor else None,
        first_link=query.link(path) if cursor else None,
        back=query.link(path, cursor),
        tab="logs",
        brand=seen.svc.ctx.delivery_format(ws.settings).brand,
    )


@router.post("/webhooks/{whId}/recover")
async def recover(whId: str, posted: PostedDep) -> Response:
    seen = posted.viewer
    form = posted.form
    errors: dict[str, str] = {}
    since = parse_when(form.get("since"), "since", errors)
    until = parse_when(form.get("until"), "until", errors)
    if since is None and not errors:
        errors["since"] = "Enter the start of the window to recover."
    back = f"/ui/webhooks/{whId}/logs"
    if errors:
        for name, text in errors.items():
            seen.flash("error", f"Recover: {name}: {text}")
        return redirect(back + "#recover")
    statuses = form.getlist("statuses") or ["failed"]
    body = {"since": since, "until": until, "statuses": statuses}
    try:
        count = await seen.svc.deliveries.recover(seen.who, whId, body)
    except (Conflict, Invalid) as exc:
        seen.flash("error", f"Nothing recovered: {exc.message}")
        return redirect(back + "#recover")
    if count:
        noun = "delivery" if count == 1 else "deliveries"
        seen.flash("success", f"{count} {noun} sent again as new deliveries tagged Recovered.")
    else:
        seen.flash("info", "No delivery in that window matched; nothing was sent.")
    return redirect(back)


@router.get("/deliveries/{dlvId}")
async def delivery(dlvId: str, seen: ViewerDep) -> Response:
    dlv, event, attempts = await seen.svc.deliveries.detail(seen.who, dlvId)
    wh = await seen.svc.webhooks.get(seen.who, dlv.webhook_id)
    ws = await seen.svc.workspaces.get(seen.who, dlv.workspace_id)
    siblings = await seen.svc.deliveries.search(
        seen.who,
        DeliveryFilter(webhook_id=wh.id, event_id=dlv.event_id),
        limit=250,
        cursor=None,
    )
    resends = [d for d in siblings.items if d.resent_from == dlv.id]
    remaining = await seen.svc.deliveries.remaining(seen.who, dlv)
    blocked = None
    if wh.status is WebhookStatus.DISABLED:
        blocked = "Resend is blocked: the endpoint is disabled. Enable it first."
    elif dlv.status in IN_PROGRESS:
        blocked = f"Resend is blocked while the delivery is {dlv.status.value}."
    return render(
        seen.request,
        "delivery.html",
        viewer=seen,
        workspace=ws,
        webhook=wh,
        delivery=dlv,
        event=event,
        attempts=list(reversed(attempts)),
        resends=sorted(resends, key=lambda d: d.id, reverse=True),
        blocked=blocked,
        remaining=remaining,
        retry_blocked=None
        if dlv.status is DeliveryStatus.PENDING
        else retry_refusal(dlv, wh).message,
        live=refresh_seconds(dlv.status, dlv.next_attempt_at),
        brand=seen.svc.ctx.delivery_format(ws.settings).brand,
    )


def refresh_seconds(status: DeliveryStatus, next_attempt_at: int | None) -> int | None:
    """How often the delivery page reloads itself: while an attempt is under way or due
    within a minute; a delivery held or waiting longer for its retry is not polled."""
    if status is DeliveryStatus.SENDING:
        return 2
    if status is DeliveryStatus.PENDING and (next_attempt_at or 0) <= now_ms() + REFRESH_AHEAD_MS:
        return 2
    return None


@router.post("/deliveries/{dlvId}/retry")
async def retry_now(dlvId: str, posted: PostedDep) -> Response:
    seen = posted.viewer
    try:
        moved = await seen.svc.deliveries.retry_now(seen.who, dlvId)
    except Conflict as exc:
        seen.flash("error", f"Not retried: {exc.message}")
    else:
        seen.flash(
            "success",
            f"Attempt {moved.attempt_count + 1} is being sent now; the page shows its result "
            "when it is in.",
        )
    return redirect(f"/ui/deliveries/{dlvId}")


@router.post("/deliveries/{dlvId}/resend")
async def resend(dlvId: str, posted: PostedDep) -> Response:
    seen = posted.viewer
    back = safe_next(posted.form.get("back"))
    try:
        created = await seen.svc.deliveries.resend(seen.who, dlvId)
    except Conflict as exc:
        seen.flash("error", f"Not resent: {exc.message}")
        return redirect(back or f"/ui/deliveries/{dlvId}")
    seen.flash(
        "success",
        f"Resent: {created.id} is a new delivery of the same event, tagged Resent "
        f"and linked to {dlvId}.",
    )
    return redirect(back or f"/ui/deliveries/{created.id}")
