"""Webhooks: the plan limit, status changes and what they do to waiting deliveries.

A status change locks its webhook ``FOR UPDATE`` first. That waits for the
ingest and resend transactions that hold the webhook ``FOR KEY SHARE`` (they read
its status to choose pending or held), and makes later ones wait and read the
new status, so no delivery is left pending behind a pause.
"""

from __future__ import annotations

import json

from hookline.domain.models import Webhook
from hookline.domain.statuses import WebhookStatus
from hookline.errors import PlanLimitReached
from hookline.store import records
from hookline.store.port import Page, WebhookChanges
from hookline.store.postgres.base import HOLD, Queries, notify_work
from hookline.store.postgres.connection import Params, rowcount


class WebhookQueries(Queries):
    async def create_webhook(
        self,
        wh: Webhook,
        secret: str,
        *,
        max_webhooks: int | None,
        signing_key: str | None = None,
    ) -> bool:
        columns = records.new_webhook(wh, self._box, secret=secret, signing_key=signing_key)
        async with self._db.transaction() as c:
            if max_webhooks is not None:
                # Concurrent creations in one workspace count one after the other.
                await c.execute(
                    "SELECT 1 FROM workspaces WHERE id = $1 FOR NO KEY UPDATE", wh.workspace_id
                )
                count = await c.fetchval(
                    "SELECT count(*) FROM webhooks WHERE workspace_id = $1", wh.workspace_id
                )
                if count >= max_webhooks:
                    raise PlanLimitReached.of(max_webhooks)
            await c.execute(
                f"INSERT INTO webhooks ({', '.join(columns)}) "
                f"VALUES ({', '.join(f'${n}' for n in range(1, len(columns) + 1))})",
                *columns.values(),
            )
        return True

    async def get_webhook(self, wh_id: str) -> Webhook | None:
        row = await self._db.fetchrow("SELECT * FROM webhooks WHERE id = $1", wh_id)
        return records.webhook(row, self._box) if row else None

    async def get_webhook_secret(self, wh_id: str) -> str | None:
        secret: str | None = await self._db.fetchval(
            "SELECT secret FROM webhooks WHERE id = $1", wh_id
        )
        return secret

    async def get_webhook_keys(self, wh_id: str) -> WebhookChanges | None:
        """The sealed secret, ed25519 key and keys in grace (as the changes that would set them)."""
        row = await self._db.fetchrow(
            "SELECT secret, signing_key, previous_keys FROM webhooks WHERE id = $1", wh_id
        )
        if row is None:
            return None
        return WebhookChanges(
            secret=row["secret"],
            signing_key=row["signing_key"],
            previous_keys=records.grace_keys(row["previous_keys"]),
        )

    async def list_webhooks(
        self, ws_id: str, *, status: str | None, limit: int, cursor: str | None
    ) -> Page[Webhook]:
        p = Params()
        sql = f"SELECT * FROM webhooks WHERE workspace_id = {p(ws_id)} AND id < {p(cursor or '~')}"
        if status is not None:
            sql += f" AND status = {p(status)}"
        sql += f" ORDER BY id DESC LIMIT {p(limit + 1)}"
        found = await self._db.fetch(sql, *p.values)
        return records.page(found, limit, "id", lambda r: records.webhook(r, self._box))

    async def subscribed_webhooks(self, ws_id: str) -> list[Webhook]:
        found = await self._db.fetch(
            "SELECT * FROM webhooks WHERE workspace_id = $1 AND status <> 'disabled'", ws_id
        )
        return [records.webhook(r, self._box) for r in found]

    async def update_webhook(self, wh_id: str, changes: WebhookChanges, now: int) -> None:
        """Apply ``changes``; a status change holds pending deliveries or releases held ones."""
        p = Params()
        sets: list[str] = [f"updated_at = {p(now)}"]
        for column, value in records.webhook_settings(changes.patch, self._box).items():
            sets.append(f"{column} = {p(value)}")
        if changes.secret is not None:
            sets.append(f"secret = {p(changes.secret)}")
        if changes.signing_key is not None:
            sets.append(f"signing_key = {p(changes.signing_key)}")
        if changes.previous_keys is not None:
            sets.append(f"previous_keys = {p(records.grace_keys_column(changes.previous_keys))}")
        status = changes.status
        if status is not None:
            sets += [
                f"status = {p(status.status.value)}",
                f"status_reason = {p(status.reason)}",
                f"status_changed_by = {p(status.by)}",
                f"status_changed_at = {p(status.at)}",
            ]
        sql = f"UPDATE webhooks SET {', '.join(sets)} WHERE id = {p(wh_id)}"

        async with self._db.transaction() as c:
            if status is not None:
                await c.execute("SELECT 1 FROM webhooks WHERE id = $1 FOR UPDATE", wh_id)
            await c.execute(sql, *p.values)
            if status is None:
                return
            if status.status is WebhookStatus.ACTIVE:
                released = await c.execute(
                    "UPDATE deliveries SET status = 'pending', next_attempt_at = $1 "
                    "WHERE webhook_id = $2 AND status = 'held'",
                    now,
                    wh_id,
                )
                if rowcount(released):
                    await notify_work(c)
            else:
                await c.execute(HOLD, wh_id)

    async def delete_webhook(self, wh_id: str) -> bool:
        """Delete the webhook; its deliveries and their attempts cascade."""
        return await self._db.execute("DELETE FROM webhooks WHERE id = $1", wh_id) > 0

    async def take_pause_notice(self, wh_id: str, *, now: int, interval_ms: int) -> bool:
        """True for the one caller that may send this webhook's pause e-mail this interval."""
        changed = await self._db.execute(
            "UPDATE webhooks SET pause_notice_at = $1 WHERE id = $2 "
            "AND (pause_notice_at IS NULL OR pause_notice_at <= $3)",
            now,
            wh_id,
            now - interval_ms,
        )
        return changed > 0

    async def seal_plain_headers(self) -> int:
        """Seal every ``headers`` value still in clear (written before they were sealed);
        return how many. Compares before it writes, so concurrent upgraders agree."""
        async with self._db.transaction() as c:
            plain = await c.fetch("SELECT id, headers FROM webhooks WHERE headers LIKE '{%'")
            await c.executemany(
                "UPDATE webhooks SET headers = $1 WHERE id = $2 AND headers = $3",
                [
                    (
                        records.sealed_headers(json.loads(r["headers"]), self._box),
                        r["id"],
                        r["headers"],
                    )
                    for r in plain
                ],
            )
        return len(plain)
