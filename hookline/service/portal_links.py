"""Portal links: a signed, short-lived URL that signs a workspace's customer in to the UI for
that workspace only, with the admin role. The API issues them; ``/ui/portal/<token>`` redeems
them, once (``Sessions.redeem_portal_link``).

A token is the grant signed with the deployment's UI secret (``signing_secret``), with an id
of its own so that each link can be redeemed once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

from hookline.errors import Invalid
from hookline.ids import now_ms
from hookline.service.access import Action, Principal
from hookline.service.context import Context
from hookline.service.workspaces import Workspaces
from hookline.settings import Settings

PORTAL_MIN_SECONDS = 60
PORTAL_DEFAULT_SECONDS = 15 * 60
PORTAL_MAX_SECONDS = 86400

# Used only when the deployment has no encryption key yet (never under `hookline serve`).
_PROCESS_SECRET = secrets.token_bytes(32)


def signing_secret(settings: Settings) -> bytes:
    """The secret UI sessions and portal links are signed with, derived from the encryption
    key (so every API process of a deployment accepts them)."""
    if settings.encryption_key is None:
        return _PROCESS_SECRET
    key = settings.encryption_key.get_secret_value().encode()
    return hmac.new(key, b"hookline ui sessions v1", hashlib.sha256).digest()


@dataclass(frozen=True, kw_only=True, slots=True)
class PortalLink:
    url: str
    expires_at: int


@dataclass(frozen=True, kw_only=True, slots=True)
class PortalGrant:
    """What a valid portal link grants: the admin role in ``workspace_id`` until ``expires``."""

    workspace_id: str
    by: str
    expires: int
    link_id: str


class PortalTokens:
    """Portal grants as signed tokens, and back."""

    def __init__(self, secret: bytes) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="hookline.ui.portal")

    def dump(self, workspace_id: str, by: str, expires: int) -> str:
        """A portal token; each has its own random id, so each link can be redeemed once."""
        body = {"w": workspace_id, "b": by, "e": expires, "j": secrets.token_urlsafe(16)}
        return self._serializer.dumps(body)

    def load(self, token: str) -> PortalGrant | None:
        """The grant of a valid, unexpired portal token."""
        try:
            body = self._serializer.loads(token, max_age=PORTAL_MAX_SECONDS + 60)
            grant = PortalGrant(
                workspace_id=str(body["w"]),
                by=str(body["b"]),
                expires=int(body["e"]),
                link_id=str(body["j"]),
            )
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        return grant if grant.expires > now_ms() else None


class PortalLinks:
    def __init__(self, ctx: Context, workspaces: Workspaces) -> None:
        self.ctx = ctx
        self.workspaces = workspaces
        self.tokens = PortalTokens(signing_secret(ctx.settings))

    async def issue(self, who: Principal, ws_id: str, expires_in: int | None = None) -> PortalLink:
        """A link into the UI scoped to ``ws_id`` (admin key, or that workspace's owner/admin)."""
        await self.workspaces.get(who, ws_id, Action.MANAGE)
        seconds = PORTAL_DEFAULT_SECONDS if expires_in is None else expires_in
        if not PORTAL_MIN_SECONDS <= seconds <= PORTAL_MAX_SECONDS:
            raise Invalid(
                f"expiresIn is {PORTAL_MIN_SECONDS} to {PORTAL_MAX_SECONDS} seconds.",
                code="invalid_expires_in",
            )
        expires = now_ms() + seconds * 1000
        token = self.tokens.dump(ws_id, who.key_id, expires)
        return PortalLink(url=f"{self.ctx.settings.base_url}/ui/portal/{token}", expires_at=expires)

    def grant(self, token: str) -> PortalGrant | None:
        """What the portal link ``token`` grants; None when it is forged or has expired."""
        return self.tokens.load(token)
