"""UI sessions, CSRF tokens and portal links, all signed with one secret derived from the
deployment's encryption key (so every API process of a deployment accepts them).

A session lives in the store (``hookline.service.sessions``): who is signed in, with
which key (sealed) or portal workspace, who issued it, and when it expires. The
cookie (HttpOnly, SameSite=Lax, path /ui) is signed and holds only:

    sid      the session's random token; the store keeps its SHA-256. Every request
             loads the session; a missing or expired one is signed out, so signing
             out (which deletes it) ends a copied cookie too
    csrf     a random token every POST form must echo back, signed with the sid
             (a new one at every sign-in)
    expires  epoch ms; the session's expiry (SESSION_SECONDS after sign-in, or a
             portal link's own expiry if sooner), or an anonymous cookie's
    flash    messages for the next page

Before sign-in the cookie has no sid: it carries the sign-in form's CSRF token.

A portal link is ``/ui/portal/<token>``: a signed, short-lived grant of the admin
role in one workspace, with its own id so that it can be redeemed only once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from hookline.ids import now_ms
from hookline.settings import Settings
from hookline.store.port import UiSession

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
    """A visitor's session: anonymous (no ``id``) or signed in.

    ``key``, ``portal`` and ``by`` come from the session's record in the store.
    """

    csrf: str
    expires: int
    id: str | None = None
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
        return self.id is not None

    def sign_in(self, token: str, record: UiSession) -> None:
        """Become the stored session ``record`` (a new CSRF token: nothing from before carries
        over)."""
        self.csrf = secrets.token_urlsafe(24)
        self.id = token
        self.attach(record)
        self.flash = []
        self.changed = True

    def attach(self, record: UiSession) -> None:
        """Take who is signed in, and until when, from the stored session."""
        self.key, self.portal, self.by = record.api_key, record.workspace_id, record.issued_by
        self.expires = record.expires_at

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


@dataclass(frozen=True, kw_only=True, slots=True)
class PortalGrant:
    """What a valid portal link grants: the admin role in ``workspace_id`` until ``expires``."""

    workspace_id: str
    by: str
    expires: int
    link_id: str


class Signer:
    """Encodes sessions into cookies and portal grants into tokens, and back."""

    def __init__(self, secret: bytes) -> None:
        self._sessions = URLSafeTimedSerializer(secret, salt="hookline.ui.session")
        self._portal = URLSafeTimedSerializer(secret, salt="hookline.ui.portal")

    def dump_session(self, session: Session) -> str:
        body: dict[str, Any] = {"c": session.csrf, "e": session.expires}
        if session.id is not None:
            body["s"] = session.id
        if session.flash:
            body["f"] = session.flash
        return self._sessions.dumps(body)

    def load_session(self, cookie: str | None) -> Session | None:
        """The session in ``cookie`` (its ``id`` still to be looked up in the store); None when
        missing, forged or expired."""
        if not cookie:
            return None
        try:
            body = self._sessions.loads(cookie, max_age=SESSION_SECONDS + 60)
            sid = body.get("s")
            session = Session(
                csrf=str(body["c"]),
                expires=int(body["e"]),
                id=None if sid is None else str(sid),
                flash=[(str(k), str(t)) for k, t in body.get("f", [])],
            )
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        return session if session.expires > now_ms() else None

    def dump_portal(self, workspace_id: str, by: str, expires: int) -> str:
        """A portal token; each has its own random id, so each link can be redeemed once."""
        body = {"w": workspace_id, "b": by, "e": expires, "j": secrets.token_urlsafe(16)}
        return self._portal.dumps(body)

    def load_portal(self, token: str) -> PortalGrant | None:
        """The grant of a valid, unexpired portal token."""
        try:
            body = self._portal.loads(token, max_age=PORTAL_MAX_SECONDS + 60)
            grant = PortalGrant(
                workspace_id=str(body["w"]),
                by=str(body["b"]),
                expires=int(body["e"]),
                link_id=str(body["j"]),
            )
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        return grant if grant.expires > now_ms() else None
