"""UI sessions and the portal links already redeemed."""

from __future__ import annotations

from hookline.store import records
from hookline.store.port import UiSession
from hookline.store.postgres.base import Queries


class SessionQueries(Queries):
    async def create_ui_session(self, session: UiSession) -> None:
        await self._db.execute(
            "INSERT INTO ui_sessions (id, kind, api_key, workspace_id, issued_by, "
            "created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
            session.id,
            session.kind,
            session.api_key,
            session.workspace_id,
            session.issued_by,
            session.created_at,
            session.expires_at,
        )

    async def get_ui_session(self, session_id: str, *, now: int) -> UiSession | None:
        row = await self._db.fetchrow(
            "SELECT * FROM ui_sessions WHERE id = $1 AND expires_at > $2", session_id, now
        )
        return records.ui_session(row) if row else None

    async def delete_ui_session(self, session_id: str) -> bool:
        return await self._db.execute("DELETE FROM ui_sessions WHERE id = $1", session_id) > 0

    async def delete_portal_sessions(self, issued_by: str) -> int:
        return await self._db.execute(
            "DELETE FROM ui_sessions WHERE kind = 'portal' AND issued_by = $1", issued_by
        )

    async def redeem_portal_link(self, link_id: str, *, expires_at: int) -> bool:
        return (
            await self._db.execute(
                "INSERT INTO portal_redemptions (link_id, expires_at) VALUES ($1, $2) "
                "ON CONFLICT (link_id) DO NOTHING",
                link_id,
                expires_at,
            )
            > 0
        )

    async def purge_ui_sessions(self, now: int) -> int:
        sessions = await self._db.execute("DELETE FROM ui_sessions WHERE expires_at <= $1", now)
        links = await self._db.execute("DELETE FROM portal_redemptions WHERE expires_at <= $1", now)
        return sessions + links
