"""What every UI page shares: templates, the signed-in viewer, forms with their CSRF check,
and errors shown as pages.

Every page handler takes a ``Viewer`` (GET) or a ``Posted`` (POST): the session
turned back into a ``Principal`` through the service layer, which decides what
that principal may see and do. Nothing here reads the store.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from hookline.domain.attempt_errors import sentence
from hookline.domain.models import Role
from hookline.errors import HooklineError, PayloadTooLarge, StorageUnavailable, Unauthorized
from hookline.ids import format_ms, now_ms
from hookline.service import Principal, Services
from hookline.service.portal_links import signing_secret
from hookline.ui.session import COOKIE, Session, Signer

log = logging.getLogger("hookline.ui")

HERE = Path(__file__).parent
MAX_FORM_BYTES = 256 * 1024
SIGN_IN_ROLES = (None, Role.OWNER, Role.ADMIN)
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


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
    """Load the request's session: the cookie's, while the store still has it; else a fresh
    anonymous one (signed out, expired, or ended by a revoked key)."""
    session = signer(request).load_session(request.cookies.get(COOKIE))
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
    request.state.ui_viewer = seen
    return seen


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


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    session = session_of(request)
    context.setdefault("viewer", None)
    html = templates.get_template(template).render(
        request=request,
        path=request.url.path,
        csrf=session.csrf,
        flashes=session.pop_flashes(),
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
            for name, value in SECURITY_HEADERS.items():
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
            return error_page(request, 500, "Something went wrong inside Hookline.")
        return error_page(request, exc.status, exc.message)
    except Exception:
        log.exception("unhandled UI error on %s %s", request.method, request.url.path)
        return error_page(request, 500, "Something went wrong inside Hookline.")


def _not_saved(request: Request, exc: StorageUnavailable) -> Response:
    """Back to the page the form was sent from, with the message; else a page saying it."""
    referer = urlsplit(request.headers.get("referer", ""))
    back = safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
    if request.method != "POST" or back is None:
        return error_page(request, exc.status, exc.message)
    session_of(request).add_flash("error", exc.message)
    return redirect(back)


def ui_router() -> APIRouter:
    """A router of pages: not part of the API's OpenAPI document."""
    return APIRouter(prefix="/ui", route_class=UiRoute, include_in_schema=False)


def _store_session(request: Request, response: Response) -> None:
    session: Session | None = getattr(request.state, "ui_session", None)
    if session is None or not session.changed:
        return
    settings = services(request).ctx.settings
    secure = request.url.scheme == "https" or settings.public_url.startswith("https://")
    response.set_cookie(
        COOKIE,
        signer(request).dump_session(session),
        max_age=max(1, (session.expires - now_ms()) // 1000),
        path="/ui",
        httponly=True,
        samesite="lax",
        secure=secure,
    )
