"""One webhook (endpoint): create and edit forms, its page (secret, status, activity, test
ping), status changes, secret rotation and deletion."""

from __future__ import annotations

from dataclasses import dataclass, replace

from fastapi import Response

from hookline.domain import queues
from hookline.domain.limits import MAX_TRANSFORMATION_CODE
from hookline.domain.models import Attempt, Delivery, Webhook, Workspace
from hookline.domain.portal_offer import DESTINATIONS, PortalOffer
from hookline.domain.webhook_commands import parse_change, parse_create
from hookline.errors import Conflict, HooklineError, Invalid, NotFound, StorageUnavailable
from hookline.ids import now_ms
from hookline.service.transformations import Tried
from hookline.store.port import FAILURE_STREAK_LIMIT
from hookline.ui import charts
from hookline.ui.forms import (
    WebhookForm,
    by_category,
    category_pattern,
    whole_catalog,
)
from hookline.ui.web import PostedDep, Viewer, ViewerDep, redirect, render, ui_router, when

router = ui_router()
# What the form shows someone signed in with a key: everything.
FULL_OFFER = PortalOffer(destinations=DESTINATIONS)

GRACE_CHOICES = [
    (0, "No grace period: the old secret stops at once"),
    (3600, "1 hour"),
    (86400, "1 day"),
    (7 * 86400, "7 days"),
]
# {Endpoint}: the word the viewer's portal brand uses ("Endpoint" by default).
STATUS_DONE = {
    "active": "{Endpoint} enabled: events are delivered to it again.",
    "paused": "{Endpoint} paused: new deliveries wait until you resume it.",
    "disabled": "{Endpoint} disabled: no new events are sent to it. Its logs are kept.",
}


async def _webhook(seen: Viewer, wh_id: str) -> tuple[Webhook, Workspace]:
    wh = await seen.svc.webhooks.get(seen.who, wh_id)
    return wh, await seen.svc.workspaces.get(seen.who, wh.workspace_id)


async def _form_page(
    seen: Viewer, ws: Workspace, form: WebhookForm, wh: Webhook | None, status: int = 200
) -> Response:
    catalog = await whole_catalog(seen.svc, seen.who)
    groups = [(c, category_pattern(c, types), types) for c, types in by_category(catalog)]
    return render(
        seen.request,
        "webhook_form.html",
        status_code=status,
        viewer=seen,
        workspace=ws,
        webhook=wh,
        form=form,
        groups=groups,
        extra=form.extra_patterns(catalog),
        offer=_offer(seen) or FULL_OFFER,
        destination_labels=queues.LABELS,
    )


def _offer(seen: Viewer) -> PortalOffer | None:
    """The deployment's portal offer when a portal user fills the form; None for a key."""
    return seen.svc.ctx.settings.portal_offer if seen.who.portal else None


def _shown_on_form(form: WebhookForm, exc: HooklineError) -> int | None:
    """Show a refusal on the form, what was typed kept (a field's next to it, a plan limit
    or a database that cannot save now above it); the page's status. None: not a refusal
    of the form's."""
    if isinstance(exc, StorageUnavailable):
        form.take(exc)
        return exc.status
    if exc.status in (403, 409, 422):
        form.take(exc)
        return 422
    return None


@router.get("/w/{wsId}/webhooks/new")
async def new_webhook(wsId: str, seen: ViewerDep) -> Response:
    ws = await seen.svc.workspaces.get(seen.who, wsId)
    return await _form_page(seen, ws, WebhookForm(), None)


@router.post("/w/{wsId}/webhooks/new")
async def create_webhook(wsId: str, posted: PostedDep) -> Response:
    seen = posted.viewer
    ws = await seen.svc.workspaces.get(seen.who, wsId)
    form = WebhookForm.parse(posted.form)
    body = form.body(offer=_offer(seen))
    form.check_each_field(seen.svc, ws, body)
    status = 422
    if not form.errors:
        try:
            wh = await seen.svc.webhooks.create(seen.who, ws.id, parse_create(body))
        except HooklineError as exc:
            shown = _shown_on_form(form, exc)
            if shown is None:
                raise
            status = shown
        else:
            seen.flash(
                "success",
                f"{seen.brand.terms.Endpoint} created. It is enabled and receives matching "
                "events from now on.",
            )
            return redirect(f"/ui/webhooks/{wh.id}")
    return await _form_page(seen, ws, form, None, status=status)


@router.get("/webhooks/{whId}/edit")
async def edit_webhook(whId: str, seen: ViewerDep) -> Response:
    wh, ws = await _webhook(seen, whId)
    return await _form_page(seen, ws, WebhookForm.of(wh), wh)


@router.post("/webhooks/{whId}/edit")
async def update_webhook(whId: str, posted: PostedDep) -> Response:
    seen = posted.viewer
    wh, ws = await _webhook(seen, whId)
    form = WebhookForm.parse(posted.form)
    body = form.body(stored_destination=wh.destination, offer=_offer(seen))
    form.check_each_field(seen.svc, ws, body, wh)
    status = 422
    if not form.errors:
        try:
            await seen.svc.webhooks.update(seen.who, wh.id, parse_change(body))
        except HooklineError as exc:
            shown = _shown_on_form(form, exc)
            if shown is None:
                raise
            status = shown
        else:
            seen.flash("success", f"{seen.brand.terms.Endpoint} saved.")
            return redirect(f"/ui/webhooks/{wh.id}")
    return await _form_page(seen, ws, form, wh, status=status)


@router.get("/webhooks/{whId}")
async def webhook(whId: str, seen: ViewerDep, test: str | None = None) -> Response:
    wh, ws = await _webhook(seen, whId)
    test_result: tuple[Delivery, list[Attempt]] | None = None
    if test:
        dlv, _event, attempts = await seen.svc.deliveries.detail(seen.who, test)
        if dlv.webhook_id == wh.id and "test" in dlv.tags:
            test_result = (dlv, attempts)
    return await _page(seen, wh, ws, test_result=test_result)


@router.post("/webhooks/{whId}/transformation")
async def transformation(whId: str, posted: PostedDep) -> Response:
    """Save the transformation editor's code (empty: none) and toggle, or try the code on
    the chosen event type's example and show the page with what it made of it."""
    seen = posted.viewer
    form = posted.form
    code = form.get("code", "").replace("\r\n", "\n")
    enabled = form.get("enabled") == "on"
    event_type = form.get("eventType", "")
    wh, ws = await _webhook(seen, whId)
    editor = TransformationEditor(code=code, enabled=enabled, event_type=event_type)
    if form.get("action") == "try":
        try:
            tried = await seen.svc.transformations.try_code(
                seen.who, wh.id, event_type=event_type, code=code or None
            )
        except (Invalid, NotFound) as exc:
            return await _page(
                seen, wh, ws, editor=replace(editor, problem=exc.message), status=422
            )
        return await _page(seen, wh, ws, editor=replace(editor, tried=tried))
    value = {"code": code, "enabled": enabled} if code.strip() else None
    try:
        await seen.svc.webhooks.update(seen.who, wh.id, parse_change({"transformation": value}))
    except Invalid as exc:
        return await _page(seen, wh, ws, editor=replace(editor, problem=exc.message), status=422)
    seen.flash("success", "Transformation saved." if value else "Transformation removed.")
    return redirect(f"/ui/webhooks/{wh.id}#transformation")


@dataclass(frozen=True, kw_only=True, slots=True)
class TransformationEditor:
    """The transformation editor as posted: its code, toggle and event type, with what trying
    it gave or why it was refused."""

    code: str
    enabled: bool
    event_type: str = ""
    tried: Tried | None = None
    problem: str | None = None


async def _page(
    seen: Viewer,
    wh: Webhook,
    ws: Workspace,
    *,
    test_result: tuple[Delivery, list[Attempt]] | None = None,
    editor: TransformationEditor | None = None,
    status: int = 200,
) -> Response:
    secret, public_key = await seen.svc.webhooks.secret(seen.who, wh.id)
    now = now_ms()
    since = charts.window_start(now)
    activity = await seen.svc.deliveries.activity(seen.who, wh.id, since=since)
    health = (await seen.svc.deliveries.health(seen.who, ws.id, [wh], since=since)).get(wh.id)
    scheme = seen.svc.ctx.delivery_format(ws.settings).signature
    saved = wh.transformation
    if editor is None:
        editor = TransformationEditor(
            code=saved.code if saved else "", enabled=saved.enabled if saved else True
        )
    examples = [et.name for et in await whole_catalog(seen.svc, seen.who) if et.latest_example]
    return render(
        seen.request,
        "webhook.html",
        status_code=status,
        editor=editor,
        example_types=examples,
        max_transformation_code=MAX_TRANSFORMATION_CODE,
        viewer=seen,
        workspace=ws,
        webhook=wh,
        secret=secret,
        public_key=public_key if scheme == "ed25519" else None,
        scheme=scheme,
        picture=charts.picture(activity, now),
        health=health,
        rate=charts.success_rate(health.hours if health else (), now),
        offer=_offer(seen) or FULL_OFFER,
        destination_labels=queues.LABELS,
        streak_limit=FAILURE_STREAK_LIMIT,
        test_result=test_result,
        grace_choices=GRACE_CHOICES,
        tab="overview",
    )


@router.post("/webhooks/{whId}/status")
async def change_status(whId: str, posted: PostedDep) -> Response:
    seen = posted.viewer
    wh = await seen.svc.webhooks.update(
        seen.who, whId, parse_change({"status": posted.form.get("status")})
    )
    seen.flash("success", STATUS_DONE[wh.status.value].format(Endpoint=seen.brand.terms.Endpoint))
    return redirect(f"/ui/webhooks/{wh.id}")


@router.get("/webhooks/{whId}/delete")
async def confirm_delete(whId: str, seen: ViewerDep) -> Response:
    wh, ws = await _webhook(seen, whId)
    return render(seen.request, "delete.html", viewer=seen, workspace=ws, webhook=wh)


@router.post("/webhooks/{whId}/delete")
async def delete_webhook(whId: str, posted: PostedDep) -> Response:
    seen = posted.viewer
    wh, ws = await _webhook(seen, whId)
    await seen.svc.webhooks.delete(seen.who, wh.id)
    word = seen.brand.terms.Endpoint
    seen.flash("success", f"{word} {wh.name or wh.url} and all its logs were deleted.")
    return redirect(f"/ui/w/{ws.id}")


@router.post("/webhooks/{whId}/rotate")
async def rotate_secret(whId: str, posted: PostedDep) -> Response:
    seen = posted.viewer
    try:
        grace = int(posted.form.get("grace", "86400"))
    except ValueError as exc:
        raise Invalid("Choose a grace period.", code="invalid_grace") from exc
    await seen.svc.webhooks.rotate(seen.who, whId, secret=None, grace_seconds=grace)
    if grace:
        until = when(now_ms() + grace * 1000)
        text = f"Signing secret rotated. The old secret also signs deliveries until {until}."
    else:
        text = "Signing secret rotated. The old secret no longer signs deliveries."
    seen.flash("success", text + " Update your receiver with the new secret.")
    return redirect(f"/ui/webhooks/{whId}#secret")


@router.post("/webhooks/{whId}/test")
async def test_ping(whId: str, posted: PostedDep) -> Response:
    seen = posted.viewer
    try:
        dlv, _attempts = await seen.svc.deliveries.test(seen.who, whId)
    except Conflict as exc:
        seen.flash("error", f"Test ping not sent: {exc.message}")
        return redirect(f"/ui/webhooks/{whId}")
    return redirect(f"/ui/webhooks/{whId}?test={dlv.id}#test")
