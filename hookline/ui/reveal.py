"""Shown once: what a form made that cannot be shown again (a new API key, a portal link).

The form answers with a redirect (so a reload never makes a second one) and hands the value
to the page it redirects to in a cookie of that page's path only: encrypted under a key
derived from the UI's secret, bound to the session, good for a minute, HttpOnly and
SameSite=Strict. That page shows it and deletes the cookie, so a reload shows it no more.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Response

from hookline.service.portal_links import signing_secret
from hookline.ui.web import Viewer

COOKIE = "hookline_reveal"
SECONDS = 60


def _fernet(seen: Viewer) -> Fernet:
    secret = signing_secret(seen.svc.ctx.settings)
    key = hmac.new(secret, b"hookline ui reveal v1", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _secure(seen: Viewer) -> bool:
    public = seen.svc.ctx.settings.public_url
    return seen.request.url.scheme == "https" or public.startswith("https://")


def keep(seen: Viewer, response: Response, path: str, value: dict[str, str]) -> None:
    """Hand ``value`` to the next page at ``path`` of this session, once."""
    body = json.dumps({"session": seen.session.id, "path": path, "value": value})
    response.set_cookie(
        COOKIE,
        _fernet(seen).encrypt(body.encode()).decode(),
        max_age=SECONDS,
        path=path,
        httponly=True,
        samesite="strict",
        secure=_secure(seen),
    )


def take(seen: Viewer, path: str) -> dict[str, str] | None:
    """The value handed to this page (``path``) of this session, if any."""
    token = seen.request.cookies.get(COOKIE)
    if token is None:
        return None
    try:
        body = json.loads(_fernet(seen).decrypt(token.encode(), ttl=SECONDS))
    except (InvalidToken, ValueError):
        return None
    if body.get("session") != seen.session.id or body.get("path") != path:
        return None
    value: dict[str, str] = body["value"]
    return value


def forget(seen: Viewer, response: Response, path: str) -> Response:
    """``response``, deleting what was handed to this page (so a reload shows it no more)."""
    if COOKIE in seen.request.cookies:
        response.delete_cookie(
            COOKIE, path=path, httponly=True, samesite="strict", secure=_secure(seen)
        )
    return response
