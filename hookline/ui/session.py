"""UI sessions and CSRF tokens, signed with the secret portal links are signed with
(``hookline.service.portal_links.signing_secret``).

A session lives in the store (``hookline.service.sessions``): who is signed in, with
which key (sealed) or portal workspace, who issued it, and when it expires. The
cookie is signed and holds only:

    sid      the session's random token; the store keeps its SHA-256. Every request
             loads the session; a missing or expired one is signed out, so signing
             out (which deletes it) ends a copied cookie too
    csrf     a random token every POST form must echo back, signed with the sid
             (a new one at every sign-in)
    expires  epoch ms; the session's expiry (SESSION_SECONDS after sign-in, or a
             portal link's own expiry if sooner), or an anonymous cookie's
    flash    messages for the next page

Before sign-in the cookie has no sid: it carries the sign-in form's CSRF token.

Two cookies, both HttpOnly with path /ui: ``hookline_session`` (SameSite=Lax) for the
sign-in page and key sessions, and ``hookline_portal`` for a portal link's session
(SameSite=None, Secure and Partitioned, so that it works inside a product's page in a
browser that blocks third-party cookies; see ``hookline.ui.web._store_session``).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from hookline.ids import now_ms
from hookline.store.port import UiSession

COOKIE = "hookline_session"
PORTAL_COOKIE = "hookline_portal"
SESSION_SECONDS = 8 * 3600
ANONYMOUS_SECONDS = 2 * 3600
MAX_FLASHES = 5


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


class Signer:
    """Encodes sessions into cookies, and back."""

    def __init__(self, secret: bytes) -> None:
        self._sessions = URLSafeTimedSerializer(secret, salt="hookline.ui.session")

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
