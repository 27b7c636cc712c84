"""UI sessions and the portal links already redeemed."""

from __future__ import annotations

import sqlite3

from hookline.store import records
from hookline.store.port import UiSession
from hookline.store.sqlite.base import Queries


class SessionQueries(Queries):
    async def create_ui_session(self, session: UiSession) -> None:
        await self._writer.write(
            lambda c: c.execute(
                "INSERT INTO ui_sessions (id, kind, api_key, workspace_id, issued_by, "
                "created_at, expires_at) VALUES (?,?,?,?,?,?,?)",
                (
                    session.id,
                    session.kind,
                    session.api_key,
                    session.workspace_id,
                    session.issued_by,
                    session.created_at,
                    session.expires_at,
                ),
            )
        )

    async def get_ui_session(self, session_id: str, *, now: int) -> UiSession | None:
        row = await self._reader.run(
            lambda c: c.execute(
                "SELECT * FROM ui_sessions WHERE id = ? AND expires_at > ?", (session_id, now)
            ).fetchone()
        )
        return records.ui_session(row) if row else None

    async def delete_ui_session(self, session_id: str) -> bool:
        return await self._writer.write(
            lambda c: c.execute("DELETE FROM ui_sessions WHERE id = ?", (session_id,)).rowcount > 0
        )

    async def delete_portal_sessions(self, issued_by: str) -> int:
        return await self._writer.write(
            lambda c: (
                c.execute(
                    "DELETE FROM ui_sessions WHERE kind = 'portal' AND issued_by = ?", (issued_by,)
                ).rowcount
            )
        )

    async def redeem_portal_link(self, link_id: str, *, expires_at: int) -> bool:
        return await self._writer.write(
            lambda c: (
                c.execute(
                    "INSERT INTO portal_redemptions (link_id, expires_at) VALUES (?,?) "
                    "ON CONFLICT (link_id) DO NOTHING",
                    (link_id, expires_at),
                ).rowcount
                > 0
            )
        )

    async def purge_ui_sessions(self, now: int) -> int:
        def purge(c: sqlite3.Connection) -> int:
            sessions = c.execute("DELETE FROM ui_sessions WHERE expires_at <= ?", (now,)).rowcount
            links = c.execute(
                "DELETE FROM portal_redemptions WHERE expires_at <= ?", (now,)
            ).rowcount
            return sessions + links

        return await self._writer.write(purge)
