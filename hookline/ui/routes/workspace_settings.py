"""A workspace's settings page for its operator: its plan (changed with the admin key), portal
links issued for its customer (the link shown once), and which operator webhooks take its
operational events. A portal session never sees it (404).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Response

from hookline.domain.models import Workspace
from hookline.errors import Invalid
from hookline.service.access import Action
from hookline.service.portal_links import PortalLink
from hookline.ui import reveal
from hookline.ui.routes.keys import not_in_portal
from hookline.ui.web import PostedDep, Viewer, ViewerDep, redirect, render, ui_router

router = ui_router()

EXPIRY_CHOICES = [
    (15 * 60, "15 minutes"),
    (3600, "1 hour"),
    (8 * 3600, "8 hours"),
    (86400, "1 day"),
]


async def _settings_page(
    seen: Viewer, ws: Workspace, *, link: PortalLink | None = None, expires_in: int = 15 * 60
) -> Response:
    svc = seen.svc
    return render(
        seen.request,
        "workspace_settings.html",
        viewer=seen,
        workspace=ws,
        plans=svc.workspaces.plans(),
        routes=await svc.operational.routes(seen.who, ws.id) if seen.is_admin else None,
        link=link,
        expiry_choices=EXPIRY_CHOICES,
        expires_in=expires_in,
    )


def settings_path(ws_id: str) -> str:
    return f"/ui/w/{quote(ws_id, safe='')}/settings"


@router.get("/w/{wsId}/settings")
async def settings(wsId: str, seen: ViewerDep) -> Response:
    not_in_portal(seen)
    ws = await seen.svc.workspaces.get(seen.who, wsId, Action.MANAGE)
    shown = reveal.take(seen, settings_path(ws.id))
    if shown is None:
        page = await _settings_page(seen, ws)
    else:
        link = PortalLink(url=shown["url"], expires_at=int(shown["expiresAt"]))
        page = await _settings_page(seen, ws, link=link, expires_in=int(shown["expiresIn"]))
    return reveal.forget(seen, page, settings_path(ws.id))


@router.post("/w/{wsId}/plan")
async def change_plan(wsId: str, posted: PostedDep) -> Response:
    """The workspace's plan, from the deployment's (admin key only, like the API)."""
    seen = posted.viewer
    not_in_portal(seen)
    ws = await seen.svc.workspaces.update(seen.who, wsId, {"plan": posted.form.get("plan")})
    seen.flash("success", f"{ws.name} is on the {ws.plan} plan now.")
    return redirect(settings_path(ws.id))


@router.post("/w/{wsId}/portal-link")
async def issue_portal_link(wsId: str, posted: PostedDep) -> Response:
    """A portal link for the workspace's customer, shown once on the page this redirects to."""
    seen = posted.viewer
    not_in_portal(seen)
    try:
        expires_in = int(posted.form.get("expiresIn"))
    except ValueError as exc:
        raise Invalid("Choose how long the link stays valid.", code="invalid_expires_in") from exc
    link = await seen.svc.portal_links.issue(seen.who, wsId, expires_in)
    response = redirect(settings_path(wsId))
    shown = {"url": link.url, "expiresAt": str(link.expires_at), "expiresIn": str(expires_in)}
    reveal.keep(seen, response, settings_path(wsId), shown)
    return response
