"""The dispatcher: claim → prepare → send → record → decide, with bounded concurrency.

One loop claims due deliveries in batches while slots are free; each claim
becomes a task that prepares the request, sends it, and hands the attempt to
the recorder, which writes finished attempts in group commits. Leases are
renewed in one query for all of this worker's claims while they run, so a
worker that dies gives its claims back after ``lease_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from collections import Counter
from collections.abc import Callable

import aiohttp

from hookline.dispatch.prepare import PendingDispatch, prepare
from hookline.dispatch.sender import SendResult, make_session, send
from hookline.domain.models import Attempt, DeliveryStatus
from hookline.domain.retry import Decision, Outcome, decide
from hookline.ids import format_ms, new_id, now_ms
from hookline.notify import Mailer, PauseNotices
from hookline.service.context import Context
from hookline.store.port import AttemptRecord, Claim

log = logging.getLogger("hookline.dispatch")
attempts_log = logging.getLogger("hookline.attempts")

RECORD_BATCH = 256
RECORD_LINGER = 0.005
PURGE_BATCH = 500
# Tries of a record the store refuses before its delivery is deferred instead.
RECORD_TRIES = 3
# The longest wait after a fault of Hookline's own (seconds), and the error it leaves.
FAULT_BACKOFF_MAX = 600.0
INTERNAL_ERROR = "internal_error"


class Dispatcher:
    def __init__(
        self,
        ctx: Context,
        *,
        session_factory: Callable[[], aiohttp.ClientSession] | None = None,
    ) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.store = ctx.store
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{new_id('w')[2:]}"
        # One line per attempt: shown in dev mode, at debug level otherwise.
        self._attempt_log_level = logging.INFO if self.settings.dev else logging.DEBUG
        self._session_factory = session_factory or (
            lambda: make_session(
                open_network=self.settings.dev,
                allowed=ctx.allowed_networks,
                limit=self.settings.worker_concurrency,
            )
        )
        self._wake = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._per_webhook: Counter[str] = Counter()
        self._records: list[AttemptRecord] = []
        # Each waiting record's delivery's faults in a row, for the backoff if it cannot be written.
        self._faults: dict[str, int] = {}
        self._records_ready = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._closing = False
        self._give_up_at = float("inf")
        self._recorder_task: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._notices = PauseNotices(ctx.store, Mailer(ctx.settings))
        self._notifying: set[asyncio.Task[bool]] = set()

    def wake(self) -> None:
        """Called by the API in the same process when new work is due now."""
        self._wake.set()

    async def run(self) -> None:
        """Run until ``stop``; then drain in-flight attempts and flush their records."""
        self._session = self._session_factory()
        await self.store.listen_for_work(self.wake)  # other processes' new work (PostgreSQL)
        self._recorder_task = asyncio.create_task(self._recorder(), name="hookline-recorder")
        self._tasks = [
            asyncio.create_task(self._housekeeping(), name="hookline-housekeeping"),
        ]
        try:
            await self._claim_loop()
        finally:
            await self._drain()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._slot_freed.set()

    # -- claim ----------------------------------------------------------------

    async def _claim_loop(self) -> None:
        settings = self.settings
        lease_ms = int(settings.lease_seconds * 1000)
        while not self._stopping.is_set():
            free = settings.worker_concurrency - len(self._inflight)
            if free <= 0:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            self._wake.clear()
            try:
                claims = await self.store.claim_due(
                    self.owner,
                    limit=min(free, settings.claim_batch),
                    now=now_ms(),
                    lease_ms=lease_ms,
                    busy=self._per_webhook,
                    per_webhook=settings.endpoint_concurrency,
                )
            except Exception:
                log.exception("claiming deliveries failed; retrying")
                await self._sleep(settings.poll_interval)
                continue
            for claim in claims:
                self._start(claim)
            if len(claims) < min(free, settings.claim_batch):
                await self._sleep(await self._idle_wait())

    async def _idle_wait(self) -> float:
        """Until the next delivery comes due, at most the poll interval.

        Due deliveries that were not claimed are blocked (their webhook is at its
        concurrency cap or has a FIFO head in flight): a finished attempt wakes
        the loop for those. They must not hide a later due time, such as a rate
        limit's next slot, so only deliveries due after now count here.
        """
        wait = self.settings.poll_interval
        with contextlib.suppress(Exception):
            now = now_ms()
            due = await self.store.next_due_at(after=now)
            if due is not None:
                wait = min(wait, max(0.0, (due - now_ms()) / 1000))
        return wait

    async def _release(self, dlv_ids: list[str]) -> None:
        try:
            await self.store.release(self.owner, dlv_ids)
        except Exception:
            log.exception("releasing %d deliveries failed; their leases will expire", len(dlv_ids))

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    def _start(self, claim: Claim) -> None:
        self._per_webhook[claim.webhook.id] += 1
        task = asyncio.create_task(self._dispatch(claim))
        self._inflight[claim.delivery_id] = task
        task.add_done_callback(lambda _t: self._finished(claim))

    def _finished(self, claim: Claim) -> None:
        self._inflight.pop(claim.delivery_id, None)
        self._per_webhook[claim.webhook.id] -= 1
        if self._per_webhook[claim.webhook.id] <= 0:
            del self._per_webhook[claim.webhook.id]
        self._slot_freed.set()

    # -- prepare, send, decide ------------------------------------------------

    async def _dispatch(self, claim: Claim) -> None:
        try:
            pending = prepare(
                claim,
                box=self.ctx.box,
                delivery_defaults=self.settings.delivery,
                policy_defaults=self.settings.retry_policy,
                timestamp=int(time.time()),
            )
        except Exception:
            await self._internal_fault(claim, "prepare")
            return
        assert self._session is not None
        started = now_ms()
        try:
            result = await send(
                self._session,
                pending.url,
                pending.headers,
                pending.body,
                timeout=pending.policy.timeout,
                follow_redirects=pending.policy.follow_redirects,
                open_network=self.settings.dev,
                allowed=self.ctx.allowed_networks,
                allow_http=self.ctx.allow_http,
            )
        except Exception:
            await self._internal_fault(claim, "send")
            return
        try:
            record = self._record(pending, result, started)
        except Exception:
            await self._internal_fault(claim, "decide")
            return
        self._faults[claim.delivery_id] = claim.internal_faults
        self._records.append(record)
        self._records_ready.set()

    async def _internal_fault(self, claim: Claim, stage: str) -> None:
        """A fault of Hookline's own ends no delivery: it goes back to the queue, unattempted.

        Only the receiver's answers and the retry policy end a delivery. A bug, a key
        that cannot open its secrets or a database error is logged and counted, and the
        delivery is tried again after a backoff that grows with each fault in a row.
        """
        log.exception("%s of delivery %s failed; it is tried again later", stage, claim.delivery_id)
        self.ctx.metrics.internal_errors.labels(stage=stage).inc()
        await self._defer(claim.delivery_id, claim.internal_faults)

    async def _defer(self, dlv_id: str, faults: int) -> None:
        """Put a claimed delivery back to be tried after its backoff, retrying while the store
        fails (a stop cancels this, and the delivery is released)."""
        while True:
            try:
                await self._defer_once(dlv_id, faults)
                return
            except Exception:
                log.exception("deferring delivery %s failed; retrying", dlv_id)
            await asyncio.sleep(0.5)

    async def _defer_once(self, dlv_id: str, faults: int) -> None:
        until = now_ms() + fault_backoff_ms(faults, self.settings.fault_retry_seconds)
        if not await self.store.defer(self.owner, dlv_id, until=until, error=INTERNAL_ERROR):
            log.warning("delivery %s is no longer leased to this worker", dlv_id)

    def _record(self, pending: PendingDispatch, result: SendResult, started: int) -> AttemptRecord:
        claim = pending.claim
        outcome = Outcome(
            status_code=result.status_code, error=result.error, retry_after=result.retry_after
        )
        finished = now_ms()
        decision: Decision = decide(pending.policy, claim.attempt, outcome, finished)
        if "test" in claim.tags and decision.kind != "succeeded":
            decision = Decision(kind="failed")  # a test ping is tried once and pauses nothing
        if attempts_log.isEnabledFor(self._attempt_log_level):
            _log_attempt(self._attempt_log_level, claim, result, decision)
        metrics = self.ctx.metrics
        metrics.deliveries.labels(outcome=decision.kind).inc()
        metrics.attempt_duration.observe(result.duration_ms / 1000)
        status = {
            "succeeded": DeliveryStatus.SUCCEEDED,
            "retry": DeliveryStatus.PENDING,
            "failed": DeliveryStatus.FAILED,
        }[decision.kind]
        attempt = Attempt(
            id=new_id("att"),
            delivery_id=claim.delivery_id,
            number=claim.attempt,
            started_at=started,
            duration_ms=result.duration_ms,
            request=pending.request_record(result.final_url),
            response=None
            if result.status_code is None
            else {
                "status": result.status_code,
                "headers": result.headers,
                "body": result.body,
                "truncated": result.truncated,
            },
            error=result.error,
            outcome="success" if outcome.succeeded else "failure",
        )
        return AttemptRecord(
            attempt=attempt,
            webhook_id=claim.webhook.id,
            status=status.value,
            next_attempt_at=decision.retry_at_ms,
            status_code=result.status_code,
            error=result.error,
            completed_at=None if decision.kind == "retry" else finished,
            pause_webhook=decision.pause_webhook,
        )

    # -- record ---------------------------------------------------------------

    async def _recorder(self) -> None:
        while True:
            await self._records_ready.wait()
            if len(self._records) < RECORD_BATCH and not self._stopping.is_set():
                await asyncio.sleep(RECORD_LINGER)
            self._records_ready.clear()
            await self._flush()
            if self._closing and not self._records:
                return

    async def _flush(self) -> None:
        async with self._flush_lock:
            while self._records:
                batch, self._records = self._records[:RECORD_BATCH], self._records[RECORD_BATCH:]
                try:
                    paused = await self.store.record_attempts(self.owner, batch)
                except Exception:
                    log.exception("recording %d attempts failed; recording one by one", len(batch))
                    self.ctx.metrics.internal_errors.labels(stage="record").inc()
                    paused = []
                    for record in batch:
                        paused += await self._record_alone(record)
                for record in batch:
                    self._faults.pop(record.attempt.delivery_id, None)
                self._recorded(batch, paused)

    async def _record_alone(self, record: AttemptRecord) -> list[str]:
        """Record one attempt, retrying while the store fails; drop it if its delivery is gone.

        Writing records one at a time keeps a record the database refuses (its delivery
        was deleted while the attempt ran) from holding back every other record. A record
        the store keeps refusing while its delivery exists is a fault of Hookline's own:
        after ``RECORD_TRIES`` its delivery goes back to the queue, to be tried again later.
        """
        dlv_id = record.attempt.delivery_id
        tries = 0
        while True:
            try:
                return await self.store.record_attempts(self.owner, [record])
            except Exception:
                log.exception("recording the attempt of %s failed", dlv_id)
                self.ctx.metrics.internal_errors.labels(stage="record").inc()
            tries += 1
            with contextlib.suppress(Exception):
                if await self.store.get_delivery(dlv_id) is None:
                    log.warning("delivery %s was deleted during its attempt; not recorded", dlv_id)
                    return []
                if tries >= RECORD_TRIES:
                    await self._defer_once(dlv_id, self._faults.get(dlv_id, 0))
                    log.warning(
                        "the attempt of %s is not recorded; it is tried again later", dlv_id
                    )
                    return []
            if self._closing and time.monotonic() >= self._give_up_at:
                log.error("giving up recording %s; its lease will expire and it is retried", dlv_id)
                return []
            await asyncio.sleep(0.5)

    def _recorded(self, batch: list[AttemptRecord], paused: list[str]) -> None:
        # A finished delivery may unblock the next one of a FIFO webhook; a retry may be due.
        self._wake.set()
        for wh_id in paused:
            log.warning("webhook %s paused after exhausting its retries", wh_id)
            task = asyncio.create_task(self._notices.paused(wh_id))
            self._notifying.add(task)
            task.add_done_callback(self._notifying.discard)

    # -- housekeeping ---------------------------------------------------------

    async def _housekeeping(self) -> None:
        renew_every = max(0.05, self.settings.lease_seconds / 3)
        last_purge = 0.0
        while True:
            await asyncio.sleep(renew_every)
            try:
                now = now_ms()
                if self._inflight:
                    await self.store.renew_leases(
                        self.owner, until=now + int(self.settings.lease_seconds * 1000)
                    )
                if await self.store.reclaim_expired(now):
                    self._wake.set()
                if time.monotonic() - last_purge >= self.settings.purge_interval:
                    last_purge = time.monotonic()
                    await self._purge()
            except Exception:
                log.exception("housekeeping failed; will retry")

    async def _purge(self) -> None:
        now = now_ms()
        before = now - int(self.settings.retention_days * 86_400_000)
        await self.store.rotate_partitions(now, before=before)
        while await self.store.purge_expired(before, batch=PURGE_BATCH) >= PURGE_BATCH:
            await asyncio.sleep(0.05)
        await self.store.purge_ui_sessions(now_ms())

    # -- shutdown -------------------------------------------------------------

    async def _drain(self) -> None:
        grace = self.settings.shutdown_grace
        self._give_up_at = time.monotonic() + 2 * grace
        pending = list(self._inflight.values())
        if pending:
            _done, late = await asyncio.wait(pending, timeout=grace)
            late_ids = [d for d, t in self._inflight.items() if t in late]
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            if late_ids:
                await self._release(late_ids)
        # The recorder writes what is left, then ends; cancelling it could drop a batch.
        self._closing = True
        self._records_ready.set()
        if self._recorder_task is not None:
            await self._recorder_task
        if self._notifying:
            await asyncio.wait(self._notifying, timeout=grace)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()


def fault_backoff_ms(faults: int, first: float) -> int:
    """How long a delivery waits after a fault of Hookline's own, ``faults`` others before it
    in a row: ``first`` seconds doubling up to ``FAULT_BACKOFF_MAX``, with 10 % jitter."""
    delay = min(FAULT_BACKOFF_MAX, first * 2.0 ** min(faults, 32))
    return round(delay * random.uniform(0.9, 1.0) * 1000)


def _log_attempt(level: int, claim: Claim, result: SendResult, decision: Decision) -> None:
    answer = f"HTTP {result.status_code}" if result.status_code is not None else result.error
    then = (
        f"retry at {format_ms(decision.retry_at_ms)}" if decision.kind == "retry" else decision.kind
    )
    attempts_log.log(
        level,
        "%s %s %s attempt %d: %s in %.0f ms, %s",
        claim.webhook.id,
        claim.delivery_id,
        claim.event.type,
        claim.attempt,
        answer,
        result.duration_ms,
        then,
        extra={
            "fields": {
                "webhook": claim.webhook.id,
                "delivery": claim.delivery_id,
                "eventType": claim.event.type,
                "attempt": claim.attempt,
                "status": result.status_code,
                "error": result.error,
                "durationMs": result.duration_ms,
                "outcome": decision.kind,
                "retryAt": format_ms(decision.retry_at_ms),
            }
        },
    )
