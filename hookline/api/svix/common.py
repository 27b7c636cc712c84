"""What the Svix routers share: their router, paging parameters, and ids or uids in paths."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from hookline.api.svix.errors import SvixRoute
from hookline.domain.models import Webhook, Workspace
from hookline.errors import NotFound
from hookline.service import Principal, Services
from hookline.service.access import Action
from hookline.service.context import MAX_LIMIT

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (default 50).")]
Iterator = Annotated[
    str | None, Query(max_length=200, description="The iterator of the previous page.")
]
# Hookline pages newest first; Svix's "ascending" is refused (422) rather than ignored.
Order = Annotated[Literal["descending"] | None, Query(description="Newest first only.")]


def svix_router(tag: str) -> APIRouter:
    """A router under /api/v1 whose errors are Svix's (kept out of Hookline's own OpenAPI)."""
    return APIRouter(prefix="/api/v1", tags=[tag], route_class=SvixRoute, include_in_schema=False)


async def application(
    svc: Services, who: Principal, app_id: str, action: Action = Action.READ
) -> Workspace:
    """The workspace an application id or uid names (the same thing in Hookline), if ``who``
    may do ``action`` in it."""
    return await svc.workspaces.get(who, app_id, action)


async def endpoint(svc: Services, who: Principal, app_id: str, endpoint_id: str) -> Webhook:
    """The webhook an endpoint id (``wh_…``) or uid (its name) names in the application."""
    ws = await application(svc, who, app_id)
    if endpoint_id.startswith("wh_"):
        wh = await svc.webhooks.get(who, endpoint_id)
        if wh.workspace_id == ws.id:
            return wh
        raise NotFound("No such endpoint.")
    found = await by_uid(svc, who, ws.id, endpoint_id)
    if found is None:
        raise NotFound("No such endpoint.")
    return found


async def by_uid(svc: Services, who: Principal, ws_id: str, uid: str) -> Webhook | None:
    """The webhook of ``ws_id`` named ``uid``, if any."""
    cursor: str | None = None
    while True:
        page = await svc.webhooks.list(who, ws_id, status=None, limit=MAX_LIMIT, cursor=cursor)
        for wh in page.items:
            if wh.name == uid:
                return wh
        cursor = page.next_cursor
        if cursor is None:
            return None
