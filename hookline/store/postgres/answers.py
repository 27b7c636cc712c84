"""Answers kept for idempotency keys."""

from __future__ import annotations

from hookline.store.port import KeptAnswer
from hookline.store.postgres.base import Queries


class AnswerQueries(Queries):
    async def get_answer(self, owner: str, key: str) -> KeptAnswer | None:
        row = await self._db.fetchrow(
            "SELECT request, status, body FROM idempotent_answers WHERE owner = $1 AND key = $2",
            owner,
            key,
        )
        return (
            None
            if row is None
            else KeptAnswer(request=row["request"], status=row["status"], body=row["body"])
        )

    async def keep_answer(self, owner: str, key: str, answer: KeptAnswer, *, now: int) -> None:
        await self._db.execute(
            "INSERT INTO idempotent_answers (owner, key, request, status, body, created_at) "
            "VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (owner, key) DO NOTHING",
            owner,
            key,
            answer.request,
            answer.status,
            answer.body,
            now,
        )

    async def purge_answers(self, before: int) -> int:
        return await self._db.execute(
            "DELETE FROM idempotent_answers WHERE created_at < $1", before
        )
