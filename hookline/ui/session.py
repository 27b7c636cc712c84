"""UI sessions, CSRF tokens and portal links, all signed with one secret derived from the
deployment's encryption key (so every API process of a deployment accepts them).

A session is a signed cookie (HttpOnly, SameSite=Lax, path /ui). It holds:

    csrf     a random token every POST form must echo back
    key      the API key signed in with, sealed with the deployment's encryption
             key (the cookie never shows it); each request authenticates it again
             through the service layer, so a revoked key ends the session
    portal   or: the one workspace a portal link signed the visitor into
    expires  epoch ms; after it the session is gone (SESSION_SECONDS after sign-in)
    flash    messages for the next page

A portal link is ``/ui/portal/<token>``: a signed, short-lived grant of the
admin role in one workspace.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from hookline.domain.models import Role
from hookline.ids import now_ms
from hookline.service import Principal
from hookline.settings import Settings

COOKIE = "hookline_session"
SESSION_SECONDS = 8 * 3600
ANONYMOUS_SECONDS = 2 * 3600
PORTAL_DEFAULT_SECONDS = 15 * 60
PORTAL_MAX_SECONDS = 86400
MAX_FLASHES = 5

# Used only when the deployment has no encryption key yet (never under `hookline serve`).
_PROCESS_SECRET = secrets.token_bytes(32)


def ui_secret(settings: Settings) -> bytes:
    """The signing secret of sessions and portal links, derived from the encryption key."""
    if settings.encryption_key is None:
        return _PROCESS_SECRET
    key = settings.encryption_key.get_secret_value().encode()
    return hmac.new(key, b"hookline ui sessions v1", hashlib.sha256).digest()


@dataclass(kw_only=True)
class Session:
    csrf: str
    expires: int
    key: str | None = None
    portal: str | None = None
    by: str | None = None
    flash: list[tuple[str, str]] = field(default_factory=list)
    changed: bool = False

    @classmethod
    def anonymous(cls) -> Session:
        return cls(
            csrf=secrets.token_urlsafe(24),
            expires=now_ms() + ANONYMOUS_SECONDS * 1000,
            changed=True,
        )

    @property
    def signed_in(self) -> bool:
        return self.key is not None or self.portal is not None

    def sign_in(self, *, key: str | None = None, portal: str | None = None, by: str = "") -> None:
        """Start a fresh session (a new CSRF token: nothing from before carries over)."""
        self.csrf = secrets.token_urlsafe(24)
        self.key, self.portal, self.by = key, portal, by or None
        self.expires = now_ms() + SESSION_SECONDS * 1000
        self.flash = []
        self.changed = True

    def add_flash(self, kind: str, text: str) -> None:
        self.flash = [*self.flash, (kind, text)][-MAX_FLASHES:]
        self.changed = True

    def pop_flashes(self) -> list[tuple[str, str]]:
        shown, self.flash = self.flash, []
        if shown:
            self.changed = True
        return shown

    def check_csrf(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf.encode(), (token or "").encode())

    def portal_principal(self) -> Principal | None:
        if self.portal is None:
            return None
        return Principal(
            key_id=f"portal:{self.by or 'link'}", workspace_id=self.portal, role=Role.ADMIN
        )


class Signer:
    """Encodes sessions into cookies and portal grants into tokens, and back."""

    def __init__(self, secret: bytes) -> None:
        self._sessions = URLSafeTimedSerializer(secret, salt="hookline.ui.session")
        self._portal = URLSafeTimedSerializer(secret, salt="hookline.ui.portal")

    def dump_session(self, session: Session) -> str:
        body: dict[str, Any] = {"c": session.csrf, "e": session.expires}
        if session.key is not None:
            body["k"] = session.key
        if session.portal is not None:
            body["p"] = session.portal
            body["b"] = session.by
        if session.flash:
            body["f"] = session.flash
        return self._sessions.dumps(body)

    def load_session(self, cookie: str | None) -> Session | None:
        """The session in ``cookie``; None when missing, forged or expired."""
        if not cookie:
            return None
        try:
            body = self._sessions.loads(cookie, max_age=SESSION_SECONDS + 60)
            session = Session(
                csrf=str(body["c"]),
                expires=int(body["e"]),
                key=body.get("k"),
                portal=body.get("p"),
                by=body.get("b"),
                flash=[(str(k), str(t)) for k, t in body.get("f", [])],
            )
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        return session if session.expires > now_ms() else None

    def dump_portal(self, workspace_id: str, by: str, expires: int) -> str:
        return self._portal.dumps({"w": workspace_id, "b": by, "e": expires})

    def load_portal(self, token: str) -> tuple[str, str] | None:
        """(workspace id, issuer key id) of a valid, unexpired portal token."""
        try:
            body = self._portal.loads(token, max_age=PORTAL_MAX_SECONDS + 60)
            workspace_id, by, expires = str(body["w"]), str(body["b"]), int(body["e"])
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        return (workspace_id, by) if expires > now_ms() else None
