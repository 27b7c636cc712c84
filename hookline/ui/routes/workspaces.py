"""The workspace list (admin key) and, per workspace, the webhooks table and the event catalog."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Response

from hookline.domain.limits import MAX_NAME
from hookline.domain.statuses import WebhookStatus
from hookline.errors import Conflict, Invalid, StorageUnavailable
from hookline.ids import now_ms
from hookline.store.port import FAILURE_STREAK_LIMIT
from hookline.ui import charts
from hookline.ui.forms import by_category, whole_catalog
from hookline.ui.web import PostedDep, Viewer, ViewerDep, redirect, render, ui_router

router = ui_router()

STATUSES = [s.value for s in WebhookStatus]


@router.get("/workspaces")
async def workspaces(seen: ViewerDep, cursor: str | None = None) -> Response:
    if not seen.is_admin:
        return redirect(seen.home)
    return await _workspaces_page(seen, cursor, {}, {})


async def _workspaces_page(
    seen: Viewer,
    cursor: str | None,
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    page = await seen.svc.workspaces.list(seen.who, limit=50, cursor=cursor)
    settings = seen.svc.ctx.settings
    return render(
        seen.request,
        "workspaces.html",
        status_code=(503 if "" in errors else 422) if errors else 200,
        viewer=seen,
        workspaces=page.items,
        next_cursor=page.next_cursor,
        first_page=cursor is None,
        plans=list(settings.plans),
        values={"plan": settings.default_plan, **values},
        errors=errors,
    )


@router.post("/workspaces")
async def create_workspace(posted: PostedDep) -> Response:
    """A new workspace from the operator's form (admin key only, like the API)."""
    seen = posted.viewer
    if not seen.is_admin:
        return redirect(seen.home)
    values = {k: posted.form.get(k).strip() for k in ("id", "name", "plan")}
    values["plan"] = values["plan"] or seen.svc.ctx.settings.default_plan
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = "Enter the workspace name."
    elif len(values["name"]) > MAX_NAME:
        errors["name"] = f"The name is at most {MAX_NAME} characters."
    if values["plan"] not in seen.svc.ctx.settings.plans:
        errors["plan"] = "Choose a plan."
    if not errors:
        try:
            ws = await seen.svc.workspaces.create(
                seen.who,
                {"id": values["id"] or None, "name": values["name"], "plan": values["plan"]},
            )
        except (Invalid, Conflict) as exc:
            errors["plan" if exc.error_code == "unknown_plan" else "id"] = exc.message
        except StorageUnavailable as exc:
            errors[""] = exc.message
        else:
            seen.flash("success", f"Workspace {ws.name} created, with id {ws.id}.")
            return redirect(f"/ui/w/{ws.id}")
    return await _workspaces_page(seen, None, values, errors)


@router.get("/w/{wsId}")
async def webhooks(
    wsId: str, seen: ViewerDep, status: str | None = None, cursor: str | None = None
) -> Response:
    ws = await seen.svc.workspaces.get(seen.who, wsId)
    shown = status if status in STATUSES else None
    page = await seen.svc.webhooks.list(seen.who, ws.id, status=shown, limit=50, cursor=cursor)
    now = now_ms()
    health = await seen.svc.deliveries.health(
        seen.who, ws.id, page.items, since=charts.window_start(now)
    )
    return render(
        seen.request,
        "webhooks.html",
        viewer=seen,
        workspace=ws,
        webhooks=page.items,
        health=health,
        sparks={
            wh_id: charts.success_rate(h.hours, now, small=True) for wh_id, h in health.items()
        },
        streak_limit=FAILURE_STREAK_LIMIT,
        status=shown,
        statuses=STATUSES,
        next_cursor=page.next_cursor,
        first_page=cursor is None,
    )


@router.get("/w/{wsId}/catalog")
async def catalog(wsId: str, seen: ViewerDep) -> Response:
    ws = await seen.svc.workspaces.get(seen.who, wsId)
    types = await whole_catalog(seen.svc, seen.who)
    hooks = await seen.svc.webhooks.list(seen.who, ws.id, status=None, limit=250, cursor=None)
    return render(
        seen.request,
        "catalog.html",
        viewer=seen,
        workspace=ws,
        groups=by_category(types),
        count=len(types),
        endpoints=[w for w in hooks.items if w.status is not WebhookStatus.DISABLED],
    )


@router.post("/w/{wsId}/catalog/example")
async def send_example(wsId: str, posted: PostedDep) -> Response:
    """Send an event type's example to a chosen endpoint as a test; its result is shown on
    the endpoint's page as a test ping's is."""
    seen = posted.viewer
    ws = await seen.svc.workspaces.get(seen.who, wsId)
    name, wh_id = posted.form.get("type"), posted.form.get("webhook")
    back = f"/ui/w/{ws.id}/catalog#type-{quote(name, safe='')}"
    if not wh_id:
        seen.flash("error", "Choose the endpoint to send the example to.")
        return redirect(back)
    et = await seen.svc.catalog.get(seen.who, name)
    try:
        dlv, _attempts = await seen.svc.deliveries.send_example(seen.who, wh_id, et)
    except (Conflict, Invalid) as exc:
        seen.flash("error", f"Not sent: {exc.message}")
        return redirect(back)
    return redirect(f"/ui/webhooks/{dlv.webhook_id}?test={dlv.id}#test")
