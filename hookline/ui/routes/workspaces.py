"""The workspace list (admin key) and, per workspace, the webhooks table and the event catalog."""

from __future__ import annotations

from fastapi import Response

from hookline.domain.models import WebhookStatus
from hookline.ui.forms import by_category, whole_catalog
from hookline.ui.web import ViewerDep, redirect, render, ui_router

router = ui_router()

STATUSES = [s.value for s in WebhookStatus]


@router.get("/workspaces")
async def workspaces(seen: ViewerDep, cursor: str | None = None) -> Response:
    if not seen.is_admin:
        return redirect(seen.home)
    page = await seen.svc.workspaces.list(seen.who, limit=50, cursor=cursor)
    return render(
        seen.request,
        "workspaces.html",
        viewer=seen,
        workspaces=page.items,
        next_cursor=page.next_cursor,
        first_page=cursor is None,
    )


@router.get("/w/{wsId}")
async def webhooks(
    wsId: str, seen: ViewerDep, status: str | None = None, cursor: str | None = None
) -> Response:
    ws = await seen.svc.workspaces.get(seen.who, wsId)
    shown = status if status in STATUSES else None
    page = await seen.svc.webhooks.list(seen.who, ws.id, status=shown, limit=50, cursor=cursor)
    health = await seen.svc.deliveries.health(seen.who, ws.id, page.items)
    return render(
        seen.request,
        "webhooks.html",
        viewer=seen,
        workspace=ws,
        webhooks=page.items,
        health=health,
        status=shown,
        statuses=STATUSES,
        next_cursor=page.next_cursor,
        first_page=cursor is None,
    )


@router.get("/w/{wsId}/catalog")
async def catalog(wsId: str, seen: ViewerDep) -> Response:
    ws = await seen.svc.workspaces.get(seen.who, wsId)
    types = await whole_catalog(seen.svc, seen.who)
    return render(
        seen.request,
        "catalog.html",
        viewer=seen,
        workspace=ws,
        groups=by_category(types),
        count=len(types),
    )
