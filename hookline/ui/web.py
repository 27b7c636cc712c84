"""What every UI page shares: templates, the signed-in viewer, forms with their CSRF check,
and errors shown as pages.

Every page handler takes a ``Viewer`` (GET) or a ``Posted`` (POST): the session
turned back into a ``Principal`` through the service layer, which decides what
that principal may see and do. Nothing here reads the store.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from hookline.domain.attempt_errors import sentence
from hookline.domain.models import Role
from hookline.domain.portal_brand import PortalBrand, Theme
from hookline.errors import HooklineError, PayloadTooLarge, StorageUnavailable, Unauthorized
from hookline.ids import format_ms, now_ms
from hookline.service import Principal, Services
from hookline.service.portal_links import signing_secret
from hookline.ui.session import COOKIE, PORTAL_COOKIE, Session, Signer

log = logging.getLogger("hookline.ui")

HERE = Path(__file__).parent
MAX_FORM_BYTES = 256 * 1024
SIGN_IN_ROLES = (None, Role.OWNER, Role.ADMIN)
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
# Said on a 500 page; names no product, since a branded portal shows it too.
SERVER_FAULT = "Something went wrong on the server. Try again in a moment."


def content_security_policy(
    *, ancestors: str = "'none'", images: str = "", style_nonce: str | None = None
) -> str:
    """The page's CSP: only this server's own scripts and styles (and one inline style
    block with ``style_nonce``: a brand's colours), images from here, data: URLs and
    ``images``, framed only by ``ancestors``."""
    styles = "'self'" + (f" 'nonce-{style_nonce}'" if style_nonce else "")
    return (
        f"default-src 'self'; img-src 'self' data:{' ' + images if images else ''}; "
        f"style-src {styles}; script-src 'self'; frame-ancestors {ancestors}; "
        "form-action 'self'; base-uri 'none'"
    )


def when(ms: int | None) -> str:
    """2026-03-18 10:05:00 UTC."""
    text = format_ms(ms)
    return "—" if text is None else f"{text[:10]} {text[11:19]} UTC"


def pretty(value: Any) -> str:
    """JSON (an object, or JSON text) indented for reading; other text as it is."""
    if isinstance(value, str):
        text = value
        try:
            value = json.loads(text)
        except ValueError:
            return text
    return json.dumps(value, indent=2, ensure_ascii=False)


templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(
    when=when,
    iso=format_ms,
    pretty=pretty,
    error_sentence=sentence,
    public_auth=lambda auth: None if auth is None else auth.public(),
    public_destination=lambda destination: destination.public(),
    urlquote=lambda s: quote(str(s), safe=""),
)


class SignInRequired(Exception):
    """No session, an expired one, or a key that no longer works."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "")
        self.message = message


class FormExpired(Exception):
    """A POST without the session's CSRF token."""


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def signer(request: Request) -> Signer:
    return Signer(signing_secret(services(request).ctx.settings))


async def open_session(request: Request) -> Session:
    """Load the request's session: the portal cookie's or else the UI cookie's, while the
    store still has it; else a fresh anonymous one (signed out, expired, or ended by a
    revoked key)."""
    load = signer(request).load_session
    session = load(request.cookies.get(PORTAL_COOKIE)) or load(request.cookies.get(COOKIE))
    if session is not None and session.id is not None:
        record = await services(request).sessions.find(session.id)
        if record is None:
            session = None
        else:
            session.attach(record)
    found = session or Session.anonymous()
    request.state.ui_session = found
    return found


def session_of(request: Request) -> Session:
    """The request's session, loaded by ``open_session`` (an anonymous one otherwise)."""
    found: Session | None = getattr(request.state, "ui_session", None)
    if found is None:
        found = Session.anonymous()
        request.state.ui_session = found
    return found


async def end_session(request: Request) -> Session:
    """End the signed-in session (in the store too); the next page gets a fresh anonymous one."""
    ended = session_of(request)
    if ended.id is not None:
        await services(request).sessions.end(ended.id)
    fresh = Session.anonymous()
    request.state.ui_session = fresh
    return fresh


@dataclass(kw_only=True)
class Viewer:
    """The signed-in visitor: who they are to the service layer, and their session."""

    request: Request
    svc: Services
    session: Session
    who: Principal
    brand: PortalBrand = field(default_factory=PortalBrand)

    @property
    def is_admin(self) -> bool:
        return self.who.is_admin

    @property
    def workspace_id(self) -> str | None:
        return self.who.workspace_id

    @property
    def is_portal(self) -> bool:
        return self.session.portal is not None

    @property
    def home(self) -> str:
        return "/ui/workspaces" if self.is_admin else f"/ui/w/{quote(self.workspace_id or '')}"

    def flash(self, kind: str, text: str) -> None:
        self.session.add_flash(kind, text)


async def authenticate(svc: Services, session: Session) -> Principal:
    """The principal a session stands for, checked again on every request."""
    if session.portal is not None:
        try:
            return await svc.sessions.portal_principal(session.portal, session.by or "")
        except Unauthorized as exc:
            raise SignInRequired(exc.message) from exc
    if session.key is None:
        raise SignInRequired()
    try:
        key = svc.ctx.box.open(session.key)
        who = await svc.authenticate(key)
    except (RuntimeError, Unauthorized) as exc:
        raise SignInRequired("Your key no longer works; sign in again.") from exc
    if who.role not in SIGN_IN_ROLES:
        raise SignInRequired()
    return who


async def viewer(request: Request) -> Viewer:
    svc = services(request)
    session = session_of(request)
    if not session.signed_in:
        raise SignInRequired()
    try:
        who = await authenticate(svc, session)
    except SignInRequired:
        await end_session(request)
        raise
    seen = Viewer(request=request, svc=svc, session=session, who=who)
    if session.portal is not None:
        ws = await svc.workspaces.get(who, session.portal)
        seen.brand = svc.ctx.portal_brand(ws.settings)
        portal_page(request, seen.brand)
    request.state.ui_viewer = seen
    return seen


def portal_page(request: Request, brand: PortalBrand | None = None) -> None:
    """Mark the response as a page of the customer portal: shown in ``brand`` (default: the
    deployment's) and framable by the deployment's portal origins."""
    request.state.portal_brand = brand or services(request).ctx.settings.portal_brand


class Form:
    """A url-encoded form body."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, name: str, default: str = "") -> str:
        return next((v for k, v in self.pairs if k == name), default)

    def getlist(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]

    def __contains__(self, name: str) -> bool:
        return any(k == name for k, _ in self.pairs)


async def read_form(request: Request) -> Form:
    """The form, refused as expired unless it carries the session's CSRF token."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PayloadTooLarge(f"The form is larger than {MAX_FORM_BYTES // 1024} KiB.")
    form = Form(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if not session_of(request).check_csrf(form.get("csrf")):
        raise FormExpired()
    return form


@dataclass(kw_only=True)
class Posted:
    viewer: Viewer
    form: Form


async def posted(request: Request, seen: Annotated[Viewer, Depends(viewer)]) -> Posted:
    return Posted(viewer=seen, form=await read_form(request))


ViewerDep = Annotated[Viewer, Depends(viewer)]
PostedDep = Annotated[Posted, Depends(posted)]


@dataclass(frozen=True, kw_only=True)
class Look:
    """What a page looks like: Hookline's own, or a portal's brand with the origins that
    may frame it (they get the page's height by postMessage)."""

    brand: PortalBrand
    portal: bool = False
    embed_origins: tuple[str, ...] = ()
    nonce: str | None = None

    @property
    def style(self) -> str:
        """The brand's colours as CSS custom properties (from checked #hex values only)."""
        accent = self.brand.accent
        if accent is None:
            return ""
        link = accent.light if self.brand.theme is Theme.DARK else accent.color
        return (
            f":root, :root[data-theme] {{ --accent: {accent.color}; --accent-dark: {accent.dark}; "
            f"--on-accent: {accent.on}; --nav-current: {accent.color}; --link: {link}; }}"
        )


def look_of(request: Request) -> Look:
    """The request's look: a portal page's brand (``portal_page``), else Hookline's."""
    brand: PortalBrand | None = getattr(request.state, "portal_brand", None)
    if brand is None:
        return Look(brand=PortalBrand())
    origins = tuple(o.text for o in services(request).ctx.settings.portal_origins)
    nonce = secrets.token_urlsafe(12) if brand.accent is not None else None
    return Look(brand=brand, portal=True, embed_origins=origins, nonce=nonce)


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    session = session_of(request)
    context.setdefault("viewer", None)
    look = look_of(request)
    request.state.look = look
    html = templates.get_template(template).render(
        request=request,
        path=request.url.path,
        csrf=session.csrf,
        flashes=session.pop_flashes(),
        look=look,
        portal_brand=look.brand,
        words=look.brand.terms,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(target: str | None) -> str | None:
    """A same-site UI path to return to after sign-in, or None."""
    if target and target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible right now",
    413: "Too large",
    422: "Invalid",
    429: "Slow down",
    503: "Not saved",
}


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    who = getattr(request.state, "ui_viewer", None)
    return render(
        request,
        "error.html",
        status_code=status,
        title=ERROR_TITLES.get(status, "Something went wrong"),
        message=message,
        viewer=who,
    )


class UiRoute(APIRoute):
    """Pages: errors become pages, a missing session a redirect to sign-in, and the
    session cookie is written whenever the session changed. A form the database cannot
    save now (out of space, out of reach) takes the visitor back to the page it was sent
    from, which says so; forms with fields of their own show it above them instead."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def ui_handler(request: Request) -> Response:
            response = await _handle(handler, request)
            for name, value in {**SECURITY_HEADERS, **_framing(request)}.items():
                response.headers.setdefault(name, value)
            _store_session(request, response)
            return response

        return ui_handler


async def _handle(
    handler: Callable[[Request], Coroutine[Any, Any, Response]], request: Request
) -> Response:
    try:
        await open_session(request)
        return await handler(request)
    except SignInRequired as exc:
        if _in_portal_frame(request):
            return portal_ended(request, exc.message or "This session has ended.", status_code=401)
        if exc.message:
            session_of(request).add_flash("error", exc.message)
        target = request.url.path if request.method == "GET" else None
        if request.method == "GET" and request.url.query:
            target = f"{target}?{request.url.query}"
        login = "/ui/login" + (f"?next={quote(target, safe='')}" if target else "")
        return redirect(login)
    except FormExpired:
        return error_page(
            request,
            403,
            "This form has expired or did not come from this page (CSRF check failed). "
            "Go back, reload the page and try again.",
        )
    except StorageUnavailable as exc:
        return _not_saved(request, exc)
    except HooklineError as exc:
        if exc.status >= 500:
            log.error("UI error on %s %s: %s", request.method, request.url.path, exc)
            return error_page(request, 500, SERVER_FAULT)
        return error_page(request, exc.status, exc.message)
    except Exception:
        log.exception("unhandled UI error on %s %s", request.method, request.url.path)
        return error_page(request, 500, SERVER_FAULT)


def _not_saved(request: Request, exc: StorageUnavailable) -> Response:
    """Back to the page the form was sent from, with the message; else a page saying it."""
    referer = urlsplit(request.headers.get("referer", ""))
    back = safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
    if request.method != "POST" or back is None:
        return error_page(request, exc.status, exc.message)
    session_of(request).add_flash("error", exc.message)
    return redirect(back)


def _in_portal_frame(request: Request) -> bool:
    """A request from the portal in a frame (or with a portal session's cookie), where the
    sign-in page, which no one may frame, would show nothing."""
    return request.headers.get("sec-fetch-dest") == "iframe" or PORTAL_COOKIE in request.cookies


def portal_ended(request: Request, message: str, *, status_code: int) -> HTMLResponse:
    """A portal page saying the visitor is not signed in, and how to come back."""
    portal_page(request)
    return render(request, "portal_ended.html", status_code=status_code, message=message)


def _framing(request: Request) -> dict[str, str]:
    """Portal pages may be framed by the deployment's portal origins; every other page by
    no one."""
    look: Look = getattr(request.state, "look", None) or look_of(request)
    images = "" if look.brand.logo is None else look.brand.logo.origin or ""
    nonce = look.nonce
    if look.embed_origins:
        ancestors = " ".join(look.embed_origins)
        return {
            "Content-Security-Policy": content_security_policy(
                ancestors=ancestors, images=images, style_nonce=nonce
            )
        }
    return {
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": content_security_policy(images=images, style_nonce=nonce),
    }


def ui_router() -> APIRouter:
    """A router of pages: not part of the API's OpenAPI document."""
    return APIRouter(prefix="/ui", route_class=UiRoute, include_in_schema=False)


def _store_session(request: Request, response: Response) -> None:
    """Write the session's cookie when it changed, and drop the other kind's.

    When the portal may be framed (``HOOKLINE_PORTAL_ORIGINS``), a portal session's cookie is
    ``hookline_portal``, ``SameSite=None; Secure; Partitioned`` where the browser takes a
    Secure cookie (HTTPS, or a loopback host): a browser that blocks third-party cookies
    still keeps it for a frame, in a jar of that frame's top-level site only. Every other
    session's cookie is ``hookline_session``, first-party only (``SameSite=Lax``).
    """
    session: Session | None = getattr(request.state, "ui_session", None)
    if session is None:
        return
    settings = services(request).ctx.settings
    https = request.url.scheme == "https" or settings.public_url.startswith("https://")
    embeddable = bool(settings.portal_origins) and (https or request.url.hostname in LOOPBACK_HOSTS)
    portal = session.portal is not None and embeddable
    name, other = (PORTAL_COOKIE, COOKIE) if portal else (COOKIE, PORTAL_COOKIE)
    if other in request.cookies:
        gone = other == PORTAL_COOKIE
        _set_cookie(response, other, "", max_age=0, secure=https or gone, partitioned=gone)
    if session.changed:
        _set_cookie(
            response,
            name,
            signer(request).dump_session(session),
            max_age=max(1, (session.expires - now_ms()) // 1000),
            secure=portal or https,
            partitioned=portal,
        )


def _set_cookie(
    response: Response, name: str, value: str, *, max_age: int, secure: bool, partitioned: bool
) -> None:
    """An HttpOnly cookie of /ui; ``partitioned``: also SameSite=None, Secure, Partitioned
    (written by hand: the standard library knows the attribute only from Python 3.14)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/ui",
        httponly=True,
        samesite="none" if partitioned else "lax",
        secure=secure or partitioned,
    )
    if partitioned:
        header, text = response.raw_headers[-1]
        response.raw_headers[-1] = (header, text + b"; Partitioned")
