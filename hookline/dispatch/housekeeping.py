"""Housekeeping in every worker: its leases renewed, expired leases returned, old data purged.

Leases are renewed in one query for all of this worker's claims while any run (or wait
to be recorded), so a worker that dies gives its claims back after ``lease_seconds``;
any worker returns those expired leases to the queue. Data older than the retention
period (and expired UI sessions) is purged in small batches, so a purge never holds the
database for long.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from hookline.errors import StorageUnavailable
from hookline.ids import now_ms
from hookline.settings import Settings
from hookline.store.port import AnswerStore, Queue, SessionStore

log = logging.getLogger("hookline.dispatch")

PURGE_BATCH = 500
# How long the answer to a request with an idempotency key is given again to a repeat.
ANSWERS_KEPT_MS = 86_400_000


class Housekeeping:
    def __init__(
        self,
        queue: Queue,
        sessions: SessionStore,
        answers: AnswerStore,
        owner: str,
        settings: Settings,
        *,
        leasing: Callable[[], bool],
        wake: Callable[[], None],
    ) -> None:
        self.queue = queue
        self.sessions = sessions  # for the purge of expired UI sessions
        self.answers = answers  # for the purge of idempotent answers a day old
        self.owner = owner
        self.settings = settings
        self._leasing = leasing  # whether this worker holds claims now
        self._wake = wake  # reclaimed deliveries are due now

    async def run(self) -> None:
        """Every third of a lease, until cancelled; a failed round is logged and retried."""
        renew_every = max(0.05, self.settings.lease_seconds / 3)
        last_purge = 0.0
        while True:
            await asyncio.sleep(renew_every)
            try:
                now = now_ms()
                if self._leasing():
                    await self.queue.renew_leases(
                        self.owner, until=now + int(self.settings.lease_seconds * 1000)
                    )
                if await self.queue.reclaim_expired(now):
                    self._wake()
                if time.monotonic() - last_purge >= self.settings.purge_interval:
                    last_purge = time.monotonic()
                    await self.purge()
            except StorageUnavailable as exc:
                log.warning("housekeeping failed (%s); will retry", exc.__cause__ or exc)
            except Exception:
                log.exception("housekeeping failed; will retry")

    async def purge(self) -> None:
        now = now_ms()
        before = now - int(self.settings.retention_days * 86_400_000)
        await self.queue.rotate_partitions(now, before=before)
        while await self.queue.purge_expired(before, batch=PURGE_BATCH) >= PURGE_BATCH:
            await asyncio.sleep(0.05)
        await self.sessions.purge_ui_sessions(now_ms())
        await self.answers.purge_answers(now_ms() - ANSWERS_KEPT_MS)
