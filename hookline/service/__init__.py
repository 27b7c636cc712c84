"""The service layer: the one place the API, UI, CLI and dispatcher go through."""

from __future__ import annotations

import hmac

from hookline.errors import Unauthorized
from hookline.secrets import hash_key
from hookline.service.access import ADMIN, Principal
from hookline.service.catalog import Catalog
from hookline.service.context import Context
from hookline.service.deliveries import Deliveries
from hookline.service.events import Events
from hookline.service.operational import Operational
from hookline.service.portal_links import PortalLinks
from hookline.service.sessions import Sessions
from hookline.service.transformations import Transformations
from hookline.service.webhooks import Webhooks
from hookline.service.workspaces import Workspaces

AUTH_CACHE_SECONDS = 5.0


class Services:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.workspaces = Workspaces(ctx)
        self.catalog = Catalog(ctx)
        self.operational = Operational(ctx.store, lambda: ctx.wake())
        self.webhooks = Webhooks(ctx, self.workspaces, self.operational)
        self.events = Events(ctx, self.workspaces, self.catalog)
        self.deliveries = Deliveries(ctx, self.workspaces, self.webhooks)
        self.sessions = Sessions(ctx, self.workspaces)
        self.portal_links = PortalLinks(ctx, self.workspaces)
        self.transformations = Transformations(ctx, self.workspaces, self.catalog, self.webhooks)

    async def authenticate(self, key: str | None) -> Principal:
        """The principal a bearer key stands for; revocations apply within seconds (at once
        to ingestion, see ``ConfigCache``)."""
        if not key:
            raise Unauthorized()
        admin = self.ctx.settings.admin_key
        if admin is not None and hmac.compare_digest(
            key.encode(), admin.get_secret_value().encode()
        ):
            return ADMIN
        digest = hash_key(key)
        found = await self.ctx.cache.get(
            "key",
            digest,
            lambda: self.ctx.store.find_api_key(digest),
            keep_none=False,
            ttl=AUTH_CACHE_SECONDS,
        )
        if found is None:
            raise Unauthorized("The API key is unknown or revoked.")
        return Principal(key_id=found.id, workspace_id=found.workspace_id, role=found.role)

    def forget_keys(self) -> None:
        """Forget what this process read of the configuration (after revoking a key here)."""
        self.ctx.cache.reset()


__all__ = ["Context", "Principal", "Services"]
