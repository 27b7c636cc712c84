"""Workspaces, their API keys, and the event-type catalog."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hookline.domain.models import ApiKey, EventType, Workspace
from hookline.store.port import Page
from hookline.store.sqlite import rows
from hookline.store.sqlite.base import Queries


class TenantQueries(Queries):
    # -- workspaces ---------------------------------------------------------------

    async def create_workspace(self, ws: Workspace) -> bool:
        return await self._writer.write(
            lambda c: (
                c.execute(
                    "INSERT INTO workspaces (id, name, plan, notification_email, settings, "
                    "created_at, updated_at, metadata) VALUES (?,?,?,?,?,?,?,?) "
                    "ON CONFLICT (id) DO NOTHING",
                    (
                        ws.id,
                        ws.name,
                        ws.plan,
                        ws.notification_email,
                        json.dumps(ws.settings.to_json()),
                        ws.created_at,
                        ws.updated_at,
                        json.dumps(ws.metadata),
                    ),
                ).rowcount
                > 0
            )
        )

    async def get_workspace(self, ws_id: str) -> Workspace | None:
        row = await self._reader.run(
            lambda c: c.execute("SELECT * FROM workspaces WHERE id = ?", (ws_id,)).fetchone()
        )
        return rows.workspace(row) if row else None

    async def list_workspaces(
        self, *, ids: list[str] | None, limit: int, cursor: str | None
    ) -> Page[Workspace]:
        sql = "SELECT * FROM workspaces WHERE seq < ?"
        args: list[Any] = [rows.int_cursor(cursor)]
        if ids is not None:
            sql += f" AND id IN ({rows.placeholders(len(ids))})"
            args += ids
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(limit + 1)
        found = await self._reader.run(lambda c: c.execute(sql, args).fetchall())
        return rows.page(found, limit, "seq", rows.workspace)

    async def update_workspace(self, ws: Workspace) -> None:
        await self._writer.write(
            lambda c: c.execute(
                "UPDATE workspaces SET name=?, plan=?, notification_email=?, settings=?, "
                "updated_at=?, metadata=? WHERE id=?",
                (
                    ws.name,
                    ws.plan,
                    ws.notification_email,
                    json.dumps(ws.settings.to_json()),
                    ws.updated_at,
                    json.dumps(ws.metadata),
                    ws.id,
                ),
            )
        )

    async def delete_workspace(self, ws_id: str) -> bool:
        def delete(c: sqlite3.Connection) -> bool:
            c.execute("DELETE FROM deliveries WHERE workspace_id = ?", (ws_id,))
            return c.execute("DELETE FROM workspaces WHERE id = ?", (ws_id,)).rowcount > 0

        return await self._writer.write(delete)

    # -- API keys -----------------------------------------------------------------

    async def create_api_key(self, key: ApiKey, key_hash: str) -> None:
        await self._writer.write(
            lambda c: c.execute(
                "INSERT INTO api_keys (id, workspace_id, name, role, key_hash, created_at) "
                "VALUES (?,?,?,?,?,?)",
                (key.id, key.workspace_id, key.name, key.role.value, key_hash, key.created_at),
            )
        )

    async def find_api_key(self, key_hash: str) -> ApiKey | None:
        row = await self._reader.run(
            lambda c: c.execute("SELECT * FROM api_keys WHERE key_hash = ?", (key_hash,)).fetchone()
        )
        return rows.api_key(row) if row else None

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        row = await self._reader.run(
            lambda c: c.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        )
        return rows.api_key(row) if row else None

    async def list_api_keys(self, ws_id: str, *, limit: int, cursor: str | None) -> Page[ApiKey]:
        found = await self._reader.run(
            lambda c: c.execute(
                "SELECT * FROM api_keys WHERE workspace_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                (ws_id, cursor or "~", limit + 1),
            ).fetchall()
        )
        return rows.page(found, limit, "id", rows.api_key)

    async def delete_api_key(self, key_id: str) -> bool:
        return await self._writer.write(
            lambda c: c.execute("DELETE FROM api_keys WHERE id = ?", (key_id,)).rowcount > 0
        )

    # -- event types --------------------------------------------------------------

    async def create_event_type(self, et: EventType) -> bool:
        return await self._writer.write(
            lambda c: (
                c.execute(
                    "INSERT INTO event_types (name, category, description, versions, deprecated, "
                    "archived, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?) "
                    "ON CONFLICT (name) DO NOTHING",
                    (
                        et.name,
                        et.category,
                        et.description,
                        rows.versions_column(et),
                        int(et.deprecated),
                        int(et.archived),
                        et.created_at,
                        et.updated_at,
                    ),
                ).rowcount
                > 0
            )
        )

    async def get_event_type(self, name: str) -> EventType | None:
        row = await self._reader.run(
            lambda c: c.execute("SELECT * FROM event_types WHERE name = ?", (name,)).fetchone()
        )
        return rows.event_type(row) if row else None

    async def list_event_types(
        self, *, category: str | None, include_archived: bool, limit: int, cursor: str | None
    ) -> Page[EventType]:
        sql = "SELECT * FROM event_types WHERE seq < ?"
        args: list[Any] = [rows.int_cursor(cursor)]
        if category is not None:
            sql += " AND category = ?"
            args.append(category)
        if not include_archived:
            sql += " AND archived = 0"
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(limit + 1)
        found = await self._reader.run(lambda c: c.execute(sql, args).fetchall())
        return rows.page(found, limit, "seq", rows.event_type)

    async def update_event_type(self, et: EventType) -> None:
        await self._writer.write(
            lambda c: c.execute(
                "UPDATE event_types SET category=?, description=?, versions=?, deprecated=?, "
                "archived=?, updated_at=? WHERE name=?",
                (
                    et.category,
                    et.description,
                    rows.versions_column(et),
                    int(et.deprecated),
                    int(et.archived),
                    et.updated_at,
                    et.name,
                ),
            )
        )
