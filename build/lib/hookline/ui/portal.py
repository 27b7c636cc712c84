"""Portal links: a signed, single-use URL that signs a workspace's customer into the UI for that
workspace only. The API issues them; ``/ui/portal/<token>`` redeems them."""

from __future__ import annotations

from dataclasses import dataclass

from hookline.errors import Invalid
from hookline.ids import now_ms
from hookline.service import Principal, Services
from hookline.service.access import Action
from hookline.ui.session import (
    PORTAL_DEFAULT_SECONDS,
    PORTAL_MAX_SECONDS,
    Signer,
    ui_secret,
)

PORTAL_MIN_SECONDS = 60


@dataclass(frozen=True, kw_only=True, slots=True)
class PortalLink:
    url: str
    expires_at: int


async def issue_portal_link(
    svc: Services, who: Principal, ws_id: str, expires_in: int | None = None
) -> PortalLink:
    """A link into the UI scoped to ``ws_id`` (admin key, or that workspace's owner/admin)."""
    await svc.workspaces.get(who, ws_id, Action.MANAGE)
    seconds = PORTAL_DEFAULT_SECONDS if expires_in is None else expires_in
    if not PORTAL_MIN_SECONDS <= seconds <= PORTAL_MAX_SECONDS:
        raise Invalid(
            f"expiresIn is {PORTAL_MIN_SECONDS} to {PORTAL_MAX_SECONDS} seconds.",
            code="invalid_expires_in",
        )
    expires = now_ms() + seconds * 1000
    token = Signer(ui_secret(svc.ctx.settings)).dump_portal(ws_id, who.key_id, expires)
    return PortalLink(url=f"{svc.ctx.settings.base_url}/ui/portal/{token}", expires_at=expires)
