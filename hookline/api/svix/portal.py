"""App-portal access (a portal link into Hookline's UI) and health."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Response

from hookline.api.deps import Svc, Who
from hookline.api.svix.applications import create_application
from hookline.api.svix.common import application, svix_router
from hookline.api.svix.errors import http_error
from hookline.api.svix.wire import AppPortalAccessIn, AppPortalAccessOut
from hookline.errors import Invalid, NotFound

router = svix_router("authentication")
health_router = svix_router("health")


@router.post("/auth/app-portal-access/{app_id}", response_model=AppPortalAccessOut)
async def app_portal_access(
    app_id: str,
    svc: Svc,
    who: Who,
    body: Annotated[AppPortalAccessIn | None, Body()] = None,
) -> AppPortalAccessOut:
    """A single-use link that signs one person in to the application's portal (Hookline's UI,
    this workspace only, admin role) until ``expiry`` seconds (at most a day; default 15
    minutes). ``token`` is the link's signed grant: it opens the portal, not the API."""
    body = body or AppPortalAccessIn()
    for field in ("readOnly", "capabilities", "featureFlags", "sessionId"):
        if getattr(body, field):
            raise Invalid(
                f"{field} is not offered: a portal link grants the admin role in its workspace.",
                code="not_offered",
                details=[{"field": field}],
            )
    try:
        ws = await application(svc, who, app_id)
    except NotFound:
        if body.application is None or (body.application.uid or app_id) != app_id:
            raise
        ws = await create_application(svc, who, body.application.model_copy(update={"uid": app_id}))
    link = await svc.portal_links.issue(who, ws.id, body.expiry)
    return AppPortalAccessOut(url=link.url, token=link.url.rsplit("/", 1)[-1])


@health_router.get("/health", status_code=204, response_class=Response)
async def health(svc: Svc) -> Response:
    """204 while the database is reachable (no key needed)."""
    try:
        await svc.ctx.store.ping()
    except Exception:
        return http_error(503, "unavailable", "The database cannot be reached.")
    return Response(status_code=204)


@health_router.get("/health/ping", status_code=204, response_class=Response)
async def ping() -> Response:
    """204 while the process is up (no key needed)."""
    return Response(status_code=204)
