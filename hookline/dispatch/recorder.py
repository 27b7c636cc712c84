"""The recorder: finished attempts written in group commits, one transaction per batch.

Attempt tasks hand their records over and end; one task writes whatever is waiting,
after a short linger so that a busy worker writes hundreds of records per commit. A
batch the store refuses is written record by record, so that one bad record (its
delivery deleted during the attempt) does not hold back the others; a record the store
keeps refusing is a fault of Hookline's own and its delivery is deferred. The webhooks
a batch pauses or disables get their notice from here.

A batch the database refuses for its own state (out of space, out of reach:
``StorageUnavailable``) is kept whole and written again soon, as often as it takes: the
requests went out, so their outcomes are written as they were, not deferred and sent
again. Meanwhile the recorder is ``waiting``: the dispatcher claims nothing new (its
attempts could not be recorded either) and keeps renewing these deliveries' leases.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from hookline.dispatch.faults import defer_once, fault_reason, log_fault
from hookline.domain.models import AttemptOutcome, DeliveryStatus, Webhook
from hookline.domain.statuses import StopReason
from hookline.errors import StorageUnavailable
from hookline.ids import now_ms
from hookline.metrics import Metrics
from hookline.notify import StopNotices
from hookline.service.operational import Notice, Operational, about
from hookline.store.port import AttemptRecord, DeliveryLog, Queue

log = logging.getLogger("hookline.dispatch")

RECORD_BATCH = 256
RECORD_LINGER = 0.005
# Tries of a record the store refuses before its delivery is deferred instead.
RECORD_TRIES = 3
# Waits before writing again a batch the database refused for its own state: the first,
# doubling up to the longest (seconds). Space freed is used within a second.
STORAGE_RETRY_FIRST, STORAGE_RETRY_MAX = 0.1, 1.0


class Recorder:
    def __init__(
        self,
        queue: Queue,
        deliveries: DeliveryLog,
        owner: str,
        *,
        metrics: Metrics,
        notices: StopNotices,
        operational: Operational,
        fault_retry_seconds: float,
        recorded: Callable[[], None],
    ) -> None:
        self.queue = queue
        self.deliveries = deliveries  # whether a record's delivery still exists
        self.owner = owner
        self._metrics = metrics
        self._notices = notices
        self._operational = operational
        self._fault_retry_seconds = fault_retry_seconds
        # Called after each batch: a finished delivery may unblock the next one of a FIFO
        # webhook, and a retry may be due.
        self._on_recorded = recorded
        self._records: list[AttemptRecord] = []
        # Each waiting record's delivery's faults in a row, for the backoff if it cannot be written.
        self._faults: dict[str, int] = {}
        self._ready = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._hurry = False
        self._waiting = False
        self._closing = False
        self._give_up_at = float("inf")
        self._task: asyncio.Task[None] | None = None
        self._notifying: set[asyncio.Task[Any]] = set()

    def add(self, record: AttemptRecord, *, faults: int) -> None:
        """Queue ``record`` for the next batch; ``faults`` are its delivery's faults in a row."""
        self._faults[record.attempt.delivery_id] = faults
        self._records.append(record)
        self._ready.set()

    @property
    def waiting(self) -> bool:
        """Whether records wait for the database to take writes again."""
        return self._waiting

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hookline-recorder")

    def hurry(self) -> None:
        """Stop lingering: the worker is stopping."""
        self._hurry = True
        self._ready.set()

    async def close(self, *, give_up_at: float, grace: float) -> None:
        """Write what is left, then end (cancelling could drop a batch); a record the store
        still refuses at ``give_up_at`` (monotonic) is left to its lease. Pause notices
        under way get ``grace`` seconds."""
        self._give_up_at = give_up_at
        self._closing = True
        self._ready.set()
        if self._task is not None:
            await self._task
        if self._notifying:
            await asyncio.wait(self._notifying, timeout=grace)

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            if len(self._records) < RECORD_BATCH and not self._hurry:
                await asyncio.sleep(RECORD_LINGER)
            self._ready.clear()
            await self._flush()
            if self._closing and not self._records:
                return

    async def _flush(self) -> None:
        async with self._flush_lock:
            while self._records:
                batch, self._records = self._records[:RECORD_BATCH], self._records[RECORD_BATCH:]
                try:
                    written = await self._write(batch)
                except Exception:
                    log.exception("recording %d attempts failed; recording one by one", len(batch))
                    self._metrics.internal_errors.labels(stage="record").inc()
                    alone: list[tuple[str, StopReason]] = []
                    for record in batch:
                        alone += await self._record_alone(record)
                    written = alone
                for record in batch:
                    self._faults.pop(record.attempt.delivery_id, None)
                if written is not None:
                    self._recorded(batch, written)

    async def _write(self, batch: list[AttemptRecord]) -> list[tuple[str, StopReason]] | None:
        """Write ``batch`` (the webhooks it stops); while the database refuses it for its own
        state, keep it and try again, until a stop gives up (None: the leases will expire and
        the deliveries are sent again). Other errors are raised."""
        wait = STORAGE_RETRY_FIRST
        while True:
            try:
                stopped = await self.queue.record_attempts(self.owner, batch)
            except StorageUnavailable as exc:
                self._metrics.internal_errors.labels(stage="record").inc()
                if not self._waiting:
                    self._waiting = True
                    log.warning(
                        "%d attempts wait to be recorded: %s (%s)",
                        len(batch),
                        exc.error_code,
                        exc.__cause__ or exc.message,
                    )
                if self._closing and time.monotonic() >= self._give_up_at:
                    log.error(
                        "giving up recording %d attempts; their leases will expire and they "
                        "are retried",
                        len(batch),
                    )
                    return None
                await asyncio.sleep(wait)
                wait = min(wait * 2, STORAGE_RETRY_MAX)
                continue
            if self._waiting:
                self._waiting = False
                log.info("the attempts that waited are recorded")
            return stopped

    async def _record_alone(self, record: AttemptRecord) -> list[tuple[str, StopReason]]:
        """Record one attempt, retrying while the store fails; drop it if its delivery is gone.

        Writing records one at a time keeps a record the database refuses (its delivery
        was deleted while the attempt ran) from holding back every other record. A record
        the store keeps refusing while its delivery exists is a fault of Hookline's own:
        after ``RECORD_TRIES`` its delivery goes back to the queue, to be tried again later.
        """
        dlv_id = record.attempt.delivery_id
        faults = self._faults.get(dlv_id, 0)
        tries = 0
        told = False
        while True:
            try:
                return await self._write([record]) or []
            except Exception as exc:
                refused = exc
                log.warning("recording the attempt of %s failed: %r", dlv_id, exc)
                self._metrics.internal_errors.labels(stage="record").inc()
            tries += 1
            with contextlib.suppress(Exception):
                if await self.deliveries.get_delivery(dlv_id) is None:
                    log.warning("delivery %s was deleted during its attempt; not recorded", dlv_id)
                    return []
                if tries >= RECORD_TRIES:
                    if not told:
                        log_fault(dlv_id, "record", refused, faults=faults)
                        told = True
                    await defer_once(
                        self.queue,
                        self.owner,
                        dlv_id,
                        faults=faults,
                        first=self._fault_retry_seconds,
                        error=fault_reason("record", refused),
                    )
                    return []
            if self._closing and time.monotonic() >= self._give_up_at:
                log.error("giving up recording %s; its lease will expire and it is retried", dlv_id)
                return []
            await asyncio.sleep(0.5)

    def _recorded(self, batch: list[AttemptRecord], stopped: list[tuple[str, StopReason]]) -> None:
        self._on_recorded()
        for wh_id, reason in stopped:
            if reason is StopReason.ENDPOINT_GONE:
                log.warning("webhook %s disabled: its endpoint answered 410 Gone", wh_id)
            else:
                log.warning("webhook %s paused after exhausting its retries", wh_id)
            self._background(self._notices.stopped(wh_id))
        self._background(self._tell(batch, stopped))

    def _background(self, job: Any) -> None:
        task = asyncio.create_task(job)
        self._notifying.add(task)
        task.add_done_callback(self._notifying.discard)

    async def _tell(
        self, batch: list[AttemptRecord], stopped: list[tuple[str, StopReason]]
    ) -> None:
        """The operational events of a recorded batch: webhooks it paused or disabled,
        deliveries it ended failed, and webhooks whose first success after failures it holds."""
        try:
            if not await self._operational.enabled():
                return
            last: dict[str, AttemptRecord] = {r.webhook_id: r for r in batch}
            ok = [w for w, r in last.items() if r.attempt.outcome is AttemptOutcome.SUCCESS]
            failing = [w for w in last if w not in ok]
            now = now_ms()
            recovered = await self.queue.track_outcomes(failed=failing, succeeded=ok, now=now)
            hooks: dict[str, Webhook | None] = {}
            notices = []
            for wh_id, reason in stopped:
                if wh := await self._webhook(hooks, wh_id):
                    fields = about(wh, now, by="system", reason=reason.value)
                    kind = f"endpoint.{reason.status.value}"
                    notices.append(Notice(type=kind, webhook=wh, fields=fields))
            for r in batch:
                ended = _ENDED.get(r.status)
                if ended is not None and (wh := await self._webhook(hooks, r.webhook_id)):
                    notices += await self._ended(ended, wh, r, now)
            for wh_id in recovered:
                if wh := await self._webhook(hooks, wh_id):
                    fields = about(wh, now, deliveryId=last[wh_id].attempt.delivery_id)
                    notices.append(Notice(type="endpoint.recovered", webhook=wh, fields=fields))
            await self._operational.tell(notices)
        except Exception:
            log.exception("the operational events of %d attempts are not told", len(batch))
            self._metrics.internal_errors.labels(stage="operational").inc()

    async def _webhook(self, hooks: dict[str, Webhook | None], wh_id: str) -> Webhook | None:
        if wh_id not in hooks:
            hooks[wh_id] = await self._operational.store.get_webhook(wh_id)
        return hooks[wh_id]

    async def _ended(self, kind: str, wh: Webhook, r: AttemptRecord, now: int) -> list[Notice]:
        """``delivery.exhausted`` for a delivery that failed for good, ``delivery.expired`` for
        one whose event's ttl ran out first (not for a test ping)."""
        dlv = await self.deliveries.get_delivery(r.attempt.delivery_id)
        if dlv is not None and "test" in dlv.tags:
            return []
        fields = about(
            wh,
            r.completed_at or now,
            deliveryId=r.attempt.delivery_id,
            eventId=dlv.event_id if dlv else None,
            eventType=dlv.event_type if dlv else None,
            attemptCount=r.attempt.number,
            lastStatusCode=r.status_code,
            lastError=r.error,
        )
        return [Notice(type=kind, webhook=wh, fields=fields)]

    def expired(self, dlv_ids: list[str]) -> None:
        """Tell of deliveries a claim ended ``expired`` without an attempt (in the background,
        like the batches' notices)."""
        self._background(self._tell_expired(dlv_ids))

    async def _tell_expired(self, dlv_ids: list[str]) -> None:
        try:
            if not await self._operational.enabled():
                return
            hooks: dict[str, Webhook | None] = {}
            notices = []
            for dlv_id in dlv_ids:
                dlv = await self.deliveries.get_delivery(dlv_id)
                if dlv is None or "test" in dlv.tags:
                    continue
                if wh := await self._webhook(hooks, dlv.webhook_id):
                    fields = about(
                        wh,
                        dlv.completed_at or now_ms(),
                        deliveryId=dlv.id,
                        eventId=dlv.event_id,
                        eventType=dlv.event_type,
                        attemptCount=dlv.attempt_count,
                        lastStatusCode=dlv.last_status_code,
                        lastError=dlv.last_error,
                    )
                    notices.append(Notice(type="delivery.expired", webhook=wh, fields=fields))
            await self._operational.tell(notices)
        except Exception:
            log.exception(
                "the operational events of %d expired deliveries are not told", len(dlv_ids)
            )
            self._metrics.internal_errors.labels(stage="operational").inc()


# The operational event of a delivery an attempt ended without success.
_ENDED = {DeliveryStatus.FAILED: "delivery.exhausted", DeliveryStatus.EXPIRED: "delivery.expired"}
