"""Workspaces, their API keys, and the event-type catalog."""

from __future__ import annotations

import json

from hookline.domain.models import ApiKey, EventType, Workspace
from hookline.store import records
from hookline.store.port import Page
from hookline.store.postgres.base import Queries
from hookline.store.postgres.connection import Params


class TenantQueries(Queries):
    # -- workspaces ---------------------------------------------------------------

    async def create_workspace(self, ws: Workspace) -> bool:
        return (
            await self._db.execute(
                "INSERT INTO workspaces (id, name, plan, notification_email, settings, "
                "created_at, updated_at, metadata) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) "
                "ON CONFLICT (id) DO NOTHING",
                ws.id,
                ws.name,
                ws.plan,
                ws.notification_email,
                json.dumps(ws.settings.to_json()),
                ws.created_at,
                ws.updated_at,
                json.dumps(ws.metadata),
            )
            > 0
        )

    async def get_workspace(self, ws_id: str) -> Workspace | None:
        row = await self._db.fetchrow("SELECT * FROM workspaces WHERE id = $1", ws_id)
        return records.workspace(row) if row else None

    async def list_workspaces(
        self, *, ids: list[str] | None, limit: int, cursor: str | None
    ) -> Page[Workspace]:
        p = Params()
        sql = f"SELECT * FROM workspaces WHERE seq < {p(records.int_cursor(cursor))}"
        if ids is not None:
            sql += f" AND id = ANY({p(ids)}::text[])"
        sql += f" ORDER BY seq DESC LIMIT {p(limit + 1)}"
        found = await self._db.fetch(sql, *p.values)
        return records.page(found, limit, "seq", records.workspace)

    async def update_workspace(self, ws: Workspace) -> None:
        await self._db.execute(
            "UPDATE workspaces SET name=$1, plan=$2, notification_email=$3, settings=$4, "
            "updated_at=$5, metadata=$6 WHERE id=$7",
            ws.name,
            ws.plan,
            ws.notification_email,
            json.dumps(ws.settings.to_json()),
            ws.updated_at,
            json.dumps(ws.metadata),
            ws.id,
        )

    async def delete_workspace(self, ws_id: str) -> bool:
        """Delete the workspace; its keys, webhooks, events, deliveries and attempts cascade."""
        return await self._db.execute("DELETE FROM workspaces WHERE id = $1", ws_id) > 0

    # -- API keys -----------------------------------------------------------------

    async def create_api_key(self, key: ApiKey, key_hash: str) -> None:
        await self._db.execute(
            "INSERT INTO api_keys (id, workspace_id, name, role, key_hash, created_at) "
            "VALUES ($1,$2,$3,$4,$5,$6)",
            key.id,
            key.workspace_id,
            key.name,
            key.role.value,
            key_hash,
            key.created_at,
        )

    async def find_api_key(self, key_hash: str) -> ApiKey | None:
        row = await self._db.fetchrow("SELECT * FROM api_keys WHERE key_hash = $1", key_hash)
        return records.api_key(row) if row else None

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        row = await self._db.fetchrow("SELECT * FROM api_keys WHERE id = $1", key_id)
        return records.api_key(row) if row else None

    async def list_api_keys(self, ws_id: str, *, limit: int, cursor: str | None) -> Page[ApiKey]:
        found = await self._db.fetch(
            "SELECT * FROM api_keys WHERE workspace_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
            ws_id,
            cursor or "~",
            limit + 1,
        )
        return records.page(found, limit, "id", records.api_key)

    async def delete_api_key(self, key_id: str) -> bool:
        return await self._db.execute("DELETE FROM api_keys WHERE id = $1", key_id) > 0

    # -- event types --------------------------------------------------------------

    async def create_event_type(self, et: EventType) -> bool:
        return (
            await self._db.execute(
                "INSERT INTO event_types (name, category, description, versions, deprecated, "
                "archived, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) "
                "ON CONFLICT (name) DO NOTHING",
                et.name,
                et.category,
                et.description,
                records.versions_column(et),
                et.deprecated,
                et.archived,
                et.created_at,
                et.updated_at,
            )
            > 0
        )

    async def get_event_type(self, name: str) -> EventType | None:
        row = await self._db.fetchrow("SELECT * FROM event_types WHERE name = $1", name)
        return records.event_type(row) if row else None

    async def list_event_types(
        self, *, category: str | None, include_archived: bool, limit: int, cursor: str | None
    ) -> Page[EventType]:
        p = Params()
        sql = f"SELECT * FROM event_types WHERE seq < {p(records.int_cursor(cursor))}"
        if category is not None:
            sql += f" AND category = {p(category)}"
        if not include_archived:
            sql += " AND NOT archived"
        sql += f" ORDER BY seq DESC LIMIT {p(limit + 1)}"
        found = await self._db.fetch(sql, *p.values)
        return records.page(found, limit, "seq", records.event_type)

    async def update_event_type(self, et: EventType) -> None:
        await self._db.execute(
            "UPDATE event_types SET category=$1, description=$2, versions=$3, deprecated=$4, "
            "archived=$5, updated_at=$6 WHERE name=$7",
            et.category,
            et.description,
            records.versions_column(et),
            et.deprecated,
            et.archived,
            et.updated_at,
            et.name,
        )
