"""Webhooks: the plan limit, status changes and what they do to waiting deliveries."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hookline.domain.models import Webhook
from hookline.domain.statuses import WebhookStatus
from hookline.errors import PlanLimitReached
from hookline.store.port import Page, WebhookChanges
from hookline.store.sqlite import rows
from hookline.store.sqlite.base import Queries


class WebhookQueries(Queries):
    async def create_webhook(
        self,
        wh: Webhook,
        secret: str,
        *,
        max_webhooks: int | None,
        signing_key: str | None = None,
    ) -> bool:
        columns = rows.new_webhook(wh, self._box, secret=secret, signing_key=signing_key)

        def insert(c: sqlite3.Connection) -> bool:
            if max_webhooks is not None:
                (count,) = c.execute(
                    "SELECT count(*) FROM webhooks WHERE workspace_id = ?", (wh.workspace_id,)
                ).fetchone()
                if count >= max_webhooks:
                    raise PlanLimitReached.of(max_webhooks)
            c.execute(
                f"INSERT INTO webhooks ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})",
                tuple(columns.values()),
            )
            return True

        return await self._writer.write(insert)

    async def get_webhook(self, wh_id: str) -> Webhook | None:
        row = await self._reader.run(
            lambda c: c.execute("SELECT * FROM webhooks WHERE id = ?", (wh_id,)).fetchone()
        )
        return rows.webhook(row, self._box) if row else None

    async def get_webhook_secret(self, wh_id: str) -> str | None:
        row = await self._reader.run(
            lambda c: c.execute("SELECT secret FROM webhooks WHERE id = ?", (wh_id,)).fetchone()
        )
        return row["secret"] if row else None

    async def get_webhook_keys(self, wh_id: str) -> WebhookChanges | None:
        """The sealed secret, ed25519 key and keys in grace (as the changes that would set them)."""
        row = await self._reader.run(
            lambda c: c.execute(
                "SELECT secret, signing_key, previous_keys FROM webhooks WHERE id = ?", (wh_id,)
            ).fetchone()
        )
        if row is None:
            return None
        return WebhookChanges(
            secret=row["secret"],
            signing_key=row["signing_key"],
            previous_keys=rows.grace_keys(row["previous_keys"]),
        )

    async def list_webhooks(
        self, ws_id: str, *, status: str | None, limit: int, cursor: str | None
    ) -> Page[Webhook]:
        sql = "SELECT * FROM webhooks WHERE workspace_id = ? AND id < ?"
        args: list[Any] = [ws_id, cursor or "~"]
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit + 1)
        found = await self._reader.run(lambda c: c.execute(sql, args).fetchall())
        return rows.page(found, limit, "id", lambda r: rows.webhook(r, self._box))

    async def subscribed_webhooks(self, ws_id: str) -> list[Webhook]:
        found = await self._reader.run(
            lambda c: c.execute(
                "SELECT * FROM webhooks WHERE workspace_id = ? AND status != 'disabled'", (ws_id,)
            ).fetchall()
        )
        return [rows.webhook(r, self._box) for r in found]

    async def update_webhook(self, wh_id: str, changes: WebhookChanges, now: int) -> None:
        """Apply ``changes``; a status change holds pending deliveries or releases held ones."""
        sets: list[str] = ["updated_at = ?"]
        args: list[Any] = [now]
        for column, value in rows.webhook_settings(changes.patch, self._box).items():
            sets.append(f"{column} = ?")
            args.append(value)
        if changes.secret is not None:
            sets.append("secret = ?")
            args.append(changes.secret)
        if changes.signing_key is not None:
            sets.append("signing_key = ?")
            args.append(changes.signing_key)
        if changes.previous_keys is not None:
            sets.append("previous_keys = ?")
            args.append(rows.grace_keys_column(changes.previous_keys))
        status = changes.status
        if status is not None:
            sets += [
                "status = ?",
                "status_reason = ?",
                "status_changed_by = ?",
                "status_changed_at = ?",
            ]
            args += [status.status.value, status.reason, status.by, status.at]

        def update(c: sqlite3.Connection) -> None:
            c.execute(f"UPDATE webhooks SET {', '.join(sets)} WHERE id = ?", (*args, wh_id))
            if status is None:
                return
            if status.status is WebhookStatus.ACTIVE:
                c.execute(
                    "UPDATE deliveries SET status = 'pending', next_attempt_at = ? "
                    "WHERE webhook_id = ? AND status = 'held'",
                    (now, wh_id),
                )
            else:
                c.execute(rows.HOLD, (wh_id,))

        await self._writer.write(update)

    async def delete_webhook(self, wh_id: str) -> bool:
        def delete(c: sqlite3.Connection) -> bool:
            c.execute("DELETE FROM deliveries WHERE webhook_id = ?", (wh_id,))
            return c.execute("DELETE FROM webhooks WHERE id = ?", (wh_id,)).rowcount > 0

        return await self._writer.write(delete)

    async def take_pause_notice(self, wh_id: str, *, now: int, interval_ms: int) -> bool:
        """True for the one caller that may send this webhook's pause e-mail this interval."""
        return await self._writer.write(
            lambda c: (
                c.execute(
                    "UPDATE webhooks SET pause_notice_at = ? WHERE id = ? "
                    "AND (pause_notice_at IS NULL OR pause_notice_at <= ?)",
                    (now, wh_id, now - interval_ms),
                ).rowcount
                > 0
            )
        )

    async def seal_plain_headers(self) -> int:
        """Seal every ``headers`` value still in clear (written before they were sealed);
        return how many. Compares before it writes, so concurrent upgraders agree."""

        def seal(c: sqlite3.Connection) -> int:
            plain = c.execute("SELECT id, headers FROM webhooks WHERE headers LIKE '{%'").fetchall()
            c.executemany(
                "UPDATE webhooks SET headers = ? WHERE id = ? AND headers = ?",
                [
                    (
                        rows.sealed_headers(json.loads(r["headers"]), self._box),
                        r["id"],
                        r["headers"],
                    )
                    for r in plain
                ],
            )
            return len(plain)

        return await self._writer.write(seal)
