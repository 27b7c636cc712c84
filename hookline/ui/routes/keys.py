"""A workspace's API keys: create (the key shown this once), list, revoke after a confirmation.

For the admin key and the workspace's owner keys, as in the API; a portal session never
sees these pages (404), whatever its role.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Response

from hookline.domain.limits import MAX_NAME
from hookline.domain.models import ApiKey, Role, Workspace
from hookline.errors import NotFound, StorageUnavailable
from hookline.service.access import Action
from hookline.ui import reveal
from hookline.ui.web import PostedDep, Viewer, ViewerDep, redirect, render, ui_router

router = ui_router()

ROLE_HINTS = {
    Role.OWNER: "everything in the workspace, its keys and settings too",
    Role.ADMIN: "manage webhooks, see secrets, resend, send events",
    Role.MEMBER: "read webhooks (without secrets) and the Send Logs",
    Role.PUBLISHER: "send events only",
}


def not_in_portal(seen: Viewer) -> None:
    """The operator's pages do not exist for a portal session (its customer's)."""
    if seen.is_portal:
        raise NotFound("No such page.")


def keys_path(ws_id: str) -> str:
    return f"/ui/w/{quote(ws_id, safe='')}/keys"


async def _created(seen: Viewer, shown: dict[str, str] | None) -> tuple[ApiKey, str] | None:
    """The key just created, and the key itself, handed over by the form (once)."""
    if shown is None:
        return None
    try:
        return await seen.svc.workspaces.get_key(seen.who, shown["id"]), shown["key"]
    except NotFound:
        return None


async def _keys_page(
    seen: Viewer,
    ws: Workspace,
    cursor: str | None,
    *,
    created: tuple[ApiKey, str] | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    page = await seen.svc.workspaces.list_keys(seen.who, ws.id, limit=50, cursor=cursor)
    return render(
        seen.request,
        "keys.html",
        status_code=status_code,
        viewer=seen,
        workspace=ws,
        keys=page.items,
        next_cursor=page.next_cursor,
        first_page=cursor is None,
        created=created,
        roles=ROLE_HINTS,
        values=values or {"role": Role.PUBLISHER.value},
        errors=errors or {},
        max_name=MAX_NAME,
    )


@router.get("/w/{wsId}/keys")
async def keys(wsId: str, seen: ViewerDep, cursor: str | None = None) -> Response:
    not_in_portal(seen)
    ws = await seen.svc.workspaces.get(seen.who, wsId, Action.OWN)
    created = await _created(seen, reveal.take(seen, keys_path(ws.id)))
    page = await _keys_page(seen, ws, cursor, created=created)
    return reveal.forget(seen, page, keys_path(ws.id))


@router.post("/w/{wsId}/keys")
async def create_key(wsId: str, posted: PostedDep) -> Response:
    """A new key, shown once on the page this redirects to: it is stored hashed."""
    seen = posted.viewer
    not_in_portal(seen)
    ws = await seen.svc.workspaces.get(seen.who, wsId, Action.OWN)
    values = {k: posted.form.get(k).strip() for k in ("name", "role")}
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = "Enter a name that says who or what uses the key."
    elif len(values["name"]) > MAX_NAME:
        errors["name"] = f"The name is at most {MAX_NAME} characters."
    role = next((r for r in Role if r.value == values["role"]), None)
    if role is None:
        errors["role"] = "Choose a role."
    if errors or role is None:
        return await _keys_page(seen, ws, None, values=values, errors=errors, status_code=422)
    try:
        key, secret = await seen.svc.workspaces.create_key(seen.who, ws.id, values["name"], role)
    except StorageUnavailable as exc:
        errors[""] = exc.message
        return await _keys_page(seen, ws, None, values=values, errors=errors, status_code=503)
    response = redirect(keys_path(ws.id))
    reveal.keep(seen, response, keys_path(ws.id), {"id": key.id, "key": secret})
    return response


@router.get("/api-keys/{keyId}/revoke")
async def confirm_revoke(keyId: str, seen: ViewerDep) -> Response:
    not_in_portal(seen)
    key = await seen.svc.workspaces.get_key(seen.who, keyId)
    ws = await seen.svc.workspaces.get(seen.who, key.workspace_id)
    return render(seen.request, "revoke_key.html", viewer=seen, workspace=ws, key=key)


@router.post("/api-keys/{keyId}/revoke")
async def revoke_key(keyId: str, posted: PostedDep) -> Response:
    seen = posted.viewer
    not_in_portal(seen)
    key = await seen.svc.workspaces.get_key(seen.who, keyId)
    await seen.svc.workspaces.revoke_key(seen.who, key.id)
    seen.svc.forget_keys()
    seen.flash("success", f"API key {key.name} revoked: requests with it are refused from now on.")
    return redirect(keys_path(key.workspace_id))
