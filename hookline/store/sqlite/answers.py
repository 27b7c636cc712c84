"""Answers kept for idempotency keys."""

from __future__ import annotations

from hookline.store.port import KeptAnswer
from hookline.store.sqlite.base import Queries


class AnswerQueries(Queries):
    async def get_answer(self, owner: str, key: str) -> KeptAnswer | None:
        row = await self._reader.run(
            lambda c: c.execute(
                "SELECT request, status, body FROM idempotent_answers WHERE owner = ? AND key = ?",
                (owner, key),
            ).fetchone()
        )
        return None if row is None else KeptAnswer(request=row[0], status=row[1], body=row[2])

    async def keep_answer(self, owner: str, key: str, answer: KeptAnswer, *, now: int) -> None:
        await self._writer.write(
            lambda c: c.execute(
                "INSERT INTO idempotent_answers (owner, key, request, status, body, created_at) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT (owner, key) DO NOTHING",
                (owner, key, answer.request, answer.status, answer.body, now),
            )
        )

    async def purge_answers(self, before: int) -> int:
        return await self._writer.write(
            lambda c: (
                c.execute("DELETE FROM idempotent_answers WHERE created_at < ?", (before,)).rowcount
            )
        )
