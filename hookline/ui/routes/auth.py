"""Signing in and out: with an admin or owner/admin key, or through a portal link."""

from __future__ import annotations

from fastapi import Request, Response

from hookline.errors import StorageUnavailable, Unauthorized
from hookline.ids import now_ms
from hookline.ui.session import SESSION_SECONDS
from hookline.ui.web import (
    SIGN_IN_ROLES,
    SignInRequired,
    end_session,
    portal_ended,
    portal_page,
    read_form,
    redirect,
    render,
    safe_next,
    services,
    session_of,
    ui_router,
    viewer,
)

router = ui_router()

LINK_USED = "This link was already used or has expired; ask for a new one."
SIGNED_OUT = "You are signed out. Open the page that showed this again to come back."
REFUSED_ROLE = (
    "A {role} key cannot sign in to the admin UI: only the admin key and a workspace's "
    "owner or admin keys can manage webhooks. Sign in with one of those."
)


@router.get("")
async def index(request: Request) -> Response:
    try:
        seen = await viewer(request)
    except SignInRequired:
        return redirect("/ui/login")
    return redirect(seen.home)


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    session = session_of(request)
    if session.signed_in:
        try:
            return redirect(safe_next(next) or (await viewer(request)).home)
        except SignInRequired:
            pass
    return render(request, "login.html", next=safe_next(next) or "", error=None)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request)
    svc = services(request)
    key = form.get("key").strip()
    target = safe_next(form.get("next"))

    def again(message: str, status: int) -> Response:
        return render(request, "login.html", status_code=status, next=target or "", error=message)

    if not key:
        return again("Enter an API key.", 422)
    try:
        who = await svc.authenticate(key)
    except Unauthorized:
        return again("That key is unknown or has been revoked.", 401)
    if who.role not in SIGN_IN_ROLES:
        role = who.role.value if who.role else "workspace"
        return again(REFUSED_ROLE.format(role=role), 403)
    try:
        token, record = await svc.sessions.start_key_session(
            svc.ctx.box.seal(key), who, expires_at=now_ms() + SESSION_SECONDS * 1000
        )
    except StorageUnavailable as exc:
        return again(exc.message, exc.status)
    (await end_session(request)).sign_in(token, record)
    home = "/ui/workspaces" if who.is_admin else f"/ui/w/{who.workspace_id}"
    return redirect(target or home)


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = session_of(request)
    if session.signed_in:
        await read_form(request)
    await end_session(request)
    if session.portal is not None:
        return portal_ended(request, SIGNED_OUT, status_code=200)
    session_of(request).add_flash("info", "You are signed out.")
    return redirect("/ui/login")


@router.get("/portal/{token}")
async def portal(request: Request, token: str) -> Response:
    """Redeem a portal link, once: a session in that one workspace, with the admin role.
    Framable by the portal's origins, like every portal page."""
    portal_page(request)
    grant = services(request).portal_links.grant(token)
    if grant is None:
        return refused_link(
            request, "This portal link is invalid or has expired. Ask for a new one."
        )
    try:
        started = await services(request).sessions.redeem_portal_link(
            link_id=grant.link_id,
            workspace_id=grant.workspace_id,
            issued_by=grant.by,
            link_expires_at=grant.expires,
            expires_at=now_ms() + SESSION_SECONDS * 1000,
        )
    except Unauthorized as exc:
        return refused_link(request, exc.message)
    if started is None:
        return refused_link(request, LINK_USED)
    (await end_session(request)).sign_in(*started)
    return redirect(f"/ui/w/{grant.workspace_id}")


def refused_link(request: Request, message: str) -> Response:
    """A portal page saying why the portal link did not sign the visitor in."""
    return portal_ended(request, message, status_code=403)
