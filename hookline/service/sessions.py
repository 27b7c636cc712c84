"""UI sessions kept by the store, so that signing out, expiry and key revocation end a
session at once, in every process of a deployment.

The browser holds only a random 256-bit token (inside the UI's signed cookie); the
store keys the session by the token's SHA-256, so its rows cannot be turned back
into cookies. A session is one of:

    key      signed in with an API key (kept sealed); the UI authenticates it again
             on every request, so a revoked key ends the session
    portal   signed in to one workspace by a portal link, with the admin role, while
             the key that issued the link exists (the admin key's links: until expiry)

Each portal link works once: redeeming it records its id, and a second redemption
of the same link, in any process, fails. Revoking a key deletes the portal sessions
of the links it issued.
"""

from __future__ import annotations

import hashlib
import secrets

from hookline.domain.models import Role
from hookline.errors import Unauthorized
from hookline.ids import now_ms
from hookline.service.access import ADMIN, Principal
from hookline.service.context import Context
from hookline.service.workspaces import Workspaces
from hookline.store.port import UiSession

KEY = "key"
PORTAL = "portal"


def digest(token: str) -> str:
    """The id under which the store keeps the session of ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    def __init__(self, ctx: Context, workspaces: Workspaces) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.workspaces = workspaces

    async def start_key_session(
        self, sealed_key: str, who: Principal, *, expires_at: int
    ) -> tuple[str, UiSession]:
        """A new session of the key ``who`` authenticated as: its token and its record."""
        return await self._start(
            kind=KEY, issued_by=who.key_id, api_key=sealed_key, expires_at=expires_at
        )

    async def redeem_portal_link(
        self,
        *,
        link_id: str,
        workspace_id: str,
        issued_by: str,
        link_expires_at: int,
        expires_at: int,
    ) -> tuple[str, UiSession] | None:
        """A portal session for a link used for the first time, ending at ``expires_at`` or
        when the link expires, whichever is first; None when the link was used before.

        Unauthorized when the key that issued the link is gone, NotFound when the workspace is.
        """
        who = await self.portal_principal(workspace_id, issued_by)
        await self.workspaces.get(who, workspace_id)
        if not await self.store.redeem_portal_link(link_id, expires_at=link_expires_at):
            return None
        return await self._start(
            kind=PORTAL,
            issued_by=issued_by,
            workspace_id=workspace_id,
            expires_at=min(expires_at, link_expires_at),
        )

    async def find(self, token: str) -> UiSession | None:
        """The live session of ``token``; None once it was ended, revoked or has expired."""
        return await self.store.get_ui_session(digest(token), now=now_ms())

    async def portal_principal(self, workspace_id: str, issued_by: str) -> Principal:
        """Who a portal session of ``workspace_id`` is, while the key that issued its link exists."""
        if issued_by != ADMIN.key_id:
            key = await self.store.get_api_key(issued_by)
            if key is None or key.workspace_id != workspace_id:
                raise Unauthorized(
                    "The key that issued this portal link has been revoked; ask for a new link."
                )
        return Principal(
            key_id=f"portal:{issued_by}", workspace_id=workspace_id, role=Role.ADMIN, portal=True
        )

    async def end(self, token: str) -> None:
        await self.store.delete_ui_session(digest(token))

    async def _start(
        self,
        *,
        kind: str,
        issued_by: str,
        expires_at: int,
        api_key: str | None = None,
        workspace_id: str | None = None,
    ) -> tuple[str, UiSession]:
        token = secrets.token_urlsafe(32)
        session = UiSession(
            id=digest(token),
            kind=kind,
            issued_by=issued_by,
            created_at=now_ms(),
            expires_at=expires_at,
            api_key=api_key,
            workspace_id=workspace_id,
        )
        await self.store.create_ui_session(session)
        return token, session
