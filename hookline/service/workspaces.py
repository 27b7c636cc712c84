"""Workspaces and their API keys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hookline.domain.models import ApiKey, Role, Workspace
from hookline.errors import Conflict, Invalid, NotFound
from hookline.ids import new_id, now_ms
from hookline.secrets import hash_key, new_api_key
from hookline.service.access import Action, Principal
from hookline.service.context import Context, clamp_limit, parsed_settings
from hookline.store.port import Page

WORKSPACE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    """A plan of the deployment's: its name and how many webhooks it allows (None: no limit)."""

    name: str
    max_webhooks: int | None


class Workspaces:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = ctx.store

    def _check_plan(self, plan: str) -> str:
        if plan not in self.ctx.settings.plans:
            raise Invalid(
                f"Unknown plan {plan!r}; plans are {', '.join(self.ctx.settings.plans)}.",
                code="unknown_plan",
            )
        return plan

    def plans(self) -> list[Plan]:
        """The deployment's plans, in the order they are configured."""
        return [self.plan(name) for name in self.ctx.settings.plans]

    def plan(self, name: str) -> Plan:
        """A plan of the deployment's (one no longer configured: no limit)."""
        limits = self.ctx.settings.plans.get(name, {})
        return Plan(name=name, max_webhooks=limits.get("maxWebhooks"))

    async def create(self, who: Principal, body: dict[str, Any]) -> Workspace:
        who.require_admin("create workspaces")
        ws_id = body.get("id") or new_id("ws")
        if not WORKSPACE_ID_RE.fullmatch(ws_id):
            raise Invalid("A workspace id is 1-64 letters, digits, '_' or '-'.", code="invalid_id")
        now = now_ms()
        ws = Workspace(
            id=ws_id,
            name=body["name"],
            plan=self._check_plan(body.get("plan") or self.ctx.settings.default_plan),
            notification_email=body.get("notificationEmail"),
            settings=parsed_settings(body.get("settings")),
            created_at=now,
            updated_at=now,
            metadata=_metadata(body.get("metadata") or {}),
        )
        if not await self.store.create_workspace(ws):
            raise Conflict(f"A workspace with id {ws_id!r} exists.", code="workspace_exists")
        return ws

    async def get(
        self, who: Principal, ws_id: str, action: Action = Action.READ, *, cached: bool = False
    ) -> Workspace:
        """The workspace, if ``who`` may do ``action`` in it; ``cached`` reads it from the
        configuration cache (for ingestion, whose insert checks the cache is current)."""
        if not who.sees(ws_id):
            raise NotFound("No such workspace.")
        ws = (
            await self.ctx.cache.get(
                "workspace", ws_id, lambda: self.store.get_workspace(ws_id), keep_none=False
            )
            if cached
            else await self.store.get_workspace(ws_id)
        )
        if ws is None:
            raise NotFound("No such workspace.")
        who.check(ws_id, action, "workspace")
        return ws

    async def list(
        self, who: Principal, *, limit: int | None, cursor: str | None
    ) -> Page[Workspace]:
        if who.workspace_id is not None:
            who.check(who.workspace_id, Action.READ, "workspace")
        ids = None if who.is_admin else [who.workspace_id or ""]
        return await self.store.list_workspaces(ids=ids, limit=clamp_limit(limit), cursor=cursor)

    async def update(self, who: Principal, ws_id: str, body: dict[str, Any]) -> Workspace:
        ws = await self.get(who, ws_id, Action.OWN)
        if body.get("plan") is not None and body["plan"] != ws.plan:
            who.require_admin("change a workspace's plan")
        changed = Workspace(
            id=ws.id,
            name=body.get("name") or ws.name,
            plan=self._check_plan(body.get("plan") or ws.plan),
            notification_email=body.get("notificationEmail", ws.notification_email),
            settings=(parsed_settings(body["settings"]) if "settings" in body else ws.settings),
            created_at=ws.created_at,
            updated_at=now_ms(),
            metadata=_metadata(body["metadata"])
            if body.get("metadata") is not None
            else ws.metadata,
        )
        await self.store.update_workspace(changed)
        return changed

    async def delete(self, who: Principal, ws_id: str) -> None:
        await self.get(who, ws_id)
        who.require_admin("delete workspaces")
        await self.store.delete_workspace(ws_id)

    async def create_key(
        self, who: Principal, ws_id: str, name: str, role: Role
    ) -> tuple[ApiKey, str]:
        await self.get(who, ws_id, Action.OWN)
        secret = new_api_key()
        key = ApiKey(
            id=new_id("key"), workspace_id=ws_id, name=name, role=role, created_at=now_ms()
        )
        await self.store.create_api_key(key, hash_key(secret))
        return key, secret

    async def list_keys(
        self, who: Principal, ws_id: str, *, limit: int | None, cursor: str | None
    ) -> Page[ApiKey]:
        await self.get(who, ws_id, Action.OWN)
        return await self.store.list_api_keys(ws_id, limit=clamp_limit(limit), cursor=cursor)

    async def get_key(self, who: Principal, key_id: str) -> ApiKey:
        """An API key (without the key itself), to those who may manage its workspace's keys."""
        key = await self.store.get_api_key(key_id)
        if key is None or not who.sees(key.workspace_id):
            raise NotFound("No such API key.")
        who.check(key.workspace_id, Action.OWN, "API key")
        return key

    async def revoke_key(self, who: Principal, key_id: str) -> None:
        await self.get_key(who, key_id)
        await self.store.delete_api_key(key_id)
        # The portal sessions of links it issued end now (its own sessions authenticate it).
        await self.store.delete_portal_sessions(key_id)


def _metadata(metadata: Any) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        raise Invalid("metadata is a JSON object.", code="validation_error")
    return metadata
