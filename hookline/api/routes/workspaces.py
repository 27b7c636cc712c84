"""Workspaces, API keys and portal links."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body

from hookline.api.deps import Cursor, Limit, Svc, Who
from hookline.api.routes.common import Deleted, v1_router
from hookline.api.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    Ok,
    OkList,
    PortalLinkIn,
    PortalLinkOut,
    WorkspaceCreate,
    WorkspaceOut,
    WorkspacePatch,
    api_key_out,
    workspace_out,
)
from hookline.ids import format_ms

router = v1_router("workspaces")


@router.post("/workspaces", status_code=201, response_model=Ok[WorkspaceOut])
async def create_workspace(body: WorkspaceCreate, svc: Svc, who: Who) -> Ok[WorkspaceOut]:
    """Create a workspace (admin key only)."""
    ws = await svc.workspaces.create(who, body.model_dump(exclude_unset=True, exclude_none=True))
    return Ok(data=workspace_out(ws))


@router.get("/workspaces", response_model=OkList[WorkspaceOut])
async def list_workspaces(
    svc: Svc, who: Who, limit: Limit = 50, cursor: Cursor = None
) -> OkList[WorkspaceOut]:
    """List workspaces, newest first; a workspace key sees only its own."""
    page = await svc.workspaces.list(who, limit=limit, cursor=cursor)
    return OkList(data=[workspace_out(w) for w in page.items], nextCursor=page.next_cursor)


@router.get("/workspaces/{wId}", response_model=Ok[WorkspaceOut])
async def get_workspace(wId: str, svc: Svc, who: Who) -> Ok[WorkspaceOut]:
    """A workspace: its plan, notification e-mail and delivery/retry settings."""
    return Ok(data=workspace_out(await svc.workspaces.get(who, wId)))


@router.patch("/workspaces/{wId}", response_model=Ok[WorkspaceOut])
async def update_workspace(wId: str, body: WorkspacePatch, svc: Svc, who: Who) -> Ok[WorkspaceOut]:
    """Change name, notification e-mail, settings (owner) or plan (admin key)."""
    ws = await svc.workspaces.update(who, wId, body.model_dump(exclude_unset=True))
    return Ok(data=workspace_out(ws))


@router.delete("/workspaces/{wId}", response_model=Ok[Deleted])
async def delete_workspace(wId: str, svc: Svc, who: Who) -> Ok[Deleted]:
    """Delete a workspace with its webhooks, events and logs (admin key only)."""
    await svc.workspaces.delete(who, wId)
    return Ok(data=Deleted(id=wId))


@router.post("/workspaces/{wId}/api-keys", status_code=201, response_model=Ok[ApiKeyCreated])
async def create_api_key(wId: str, body: ApiKeyCreate, svc: Svc, who: Who) -> Ok[ApiKeyCreated]:
    """Create a workspace key; the key is in the response this once and stored hashed."""
    key, secret = await svc.workspaces.create_key(who, wId, body.name, body.role)
    return Ok(data=ApiKeyCreated(**api_key_out(key).model_dump(), key=secret))


@router.get("/workspaces/{wId}/api-keys", response_model=OkList[ApiKeyOut])
async def list_api_keys(
    wId: str, svc: Svc, who: Who, limit: Limit = 50, cursor: Cursor = None
) -> OkList[ApiKeyOut]:
    """The workspace's API keys, newest first, without the keys themselves (owner)."""
    page = await svc.workspaces.list_keys(who, wId, limit=limit, cursor=cursor)
    return OkList(data=[api_key_out(k) for k in page.items], nextCursor=page.next_cursor)


@router.delete("/api-keys/{keyId}", response_model=Ok[Deleted])
async def revoke_api_key(keyId: str, svc: Svc, who: Who) -> Ok[Deleted]:
    """Revoke a key; it stops working within seconds on every process."""
    await svc.workspaces.revoke_key(who, keyId)
    svc.forget_keys()
    return Ok(data=Deleted(id=keyId))


@router.post("/workspaces/{wId}/portal-link", response_model=Ok[PortalLinkOut])
async def create_portal_link(
    wId: str, svc: Svc, who: Who, body: Annotated[PortalLinkIn | None, Body()] = None
) -> Ok[PortalLinkOut]:
    """A short-lived signed link into the admin UI for this workspace only.

    Whoever opens it first, before expiresAt (default 15 minutes, expiresIn up to a
    day), is signed in to this workspace with the admin role: its webhooks, secrets,
    Send Logs, resend, recover and test. The link works once; the session ends at
    expiresAt at the latest, or when the key that issued the link is revoked. The URL
    starts with the deployment's HOOKLINE_PUBLIC_URL. Admin key, or the workspace's
    owner or admin keys.
    """
    expires_in = body.expiresIn if body is not None else None
    link = await svc.portal_links.issue(who, wId, expires_in)
    return Ok(data=PortalLinkOut(url=link.url, expiresAt=format_ms(link.expires_at) or ""))
