"""The dispatcher: claim → prepare → send → conclude → record, with bounded concurrency.

One loop claims due deliveries in batches while slots are free; each claim
becomes a task that prepares the request, sends it through the dispatcher's one
``Transport`` (``delivery_transport``: queues, OAuth2 tokens, the aiohttp sender),
concludes what follows (``outcome``) and hands the attempt record to the ``Recorder``,
which writes finished attempts in group commits. ``Housekeeping`` renews this worker's
leases while its claims run, returns expired ones and purges old data.

While the database is out of space, or records wait to be written, the loop claims
nothing: an attempt made then could not be recorded, and whatever space comes back goes
first to the outcomes of the attempts already made.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import prometheus_client

from hookline import tracing
from hookline.dispatch.faults import defer_once, fault_reason, log_fault
from hookline.dispatch.housekeeping import Housekeeping
from hookline.dispatch.oauth2 import OAuth2Transport
from hookline.dispatch.outcome import Concluded, RetryAt, Verdict, conclude
from hookline.dispatch.prepare import PendingDispatch, prepare
from hookline.dispatch.publishers import Guard, Router
from hookline.dispatch.recorder import Recorder
from hookline.dispatch.sender import AiohttpTransport, make_session
from hookline.dispatch.transform import (
    cancelled_record,
    failed_record,
    transform,
)
from hookline.dispatch.transport import SendResult, Transport
from hookline.domain.attempt_errors import AttemptError
from hookline.domain.network_guard import Network
from hookline.domain.scheduling import Windows
from hookline.domain.transformation_rules import UrlRules
from hookline.domain.transformations import Cancelled
from hookline.errors import StorageFull, StorageUnavailable
from hookline.ids import format_ms, new_id, now_ms
from hookline.metrics import Metrics
from hookline.notify import Mailer, StopNotices
from hookline.sandbox.pool import SandboxPool
from hookline.secrets import SecretBox
from hookline.service.operational import Operational
from hookline.settings import Settings
from hookline.store.port import Claim, Queue, Store

if TYPE_CHECKING:
    from opentelemetry.trace import Span

log = logging.getLogger("hookline.dispatch")
attempts_log = logging.getLogger("hookline.attempts")

# Allocations between two collections of the youngest generation in a process that
# dispatches (CPython's default is 700). Every attempt allocates a few hundred short-lived
# objects (a request, its headers, aiohttp's request and response, the record), nearly all
# freed by reference counting; at 700 the collector ran every few attempts and took about
# a tenth of a dispatcher's CPU, scanning objects about to be freed anyway.
GC_YOUNG_THRESHOLD = 10_000


class Dispatcher:
    """Claims, sends and records this worker's deliveries until ``stop``. ``transport`` is
    the one it sends through and closes when it stops (default ``delivery_transport``);
    ``wake_all`` wakes every process's dispatcher (for the operational events it emits)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        box: SecretBox,
        *,
        metrics: Metrics,
        networks: tuple[Network, ...] = (),
        wake_all: Callable[[], None] = lambda: None,
        transport: Transport | None = None,
    ) -> None:
        self.settings = settings
        self.queue: Queue = store
        self.box = box
        self.metrics = metrics
        self.networks = networks
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{new_id('w')[2:]}"
        # One line per attempt: shown in dev mode, at debug level otherwise.
        self._attempt_log_level = logging.INFO if self.settings.dev else logging.DEBUG
        self._wake = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._per_webhook: Counter[str] = Counter()
        self._per_workspace: Counter[str] = Counter()
        # How many attempts in flight each webhook may have, from how its attempts ended.
        self._windows = Windows(settings.endpoint_concurrency)
        self._outcomes: dict[str, prometheus_client.Counter] = {}  # see _outcome
        # Where a transformation may send a request: a webhook URL's rules here.
        self._url_rules = UrlRules(
            allow_http=settings.http_allowed, open_network=settings.dev, allowed=networks
        )
        self._recorder = Recorder(
            store,
            store,
            self.owner,
            metrics=metrics,
            notices=StopNotices(store, Mailer(settings)),
            operational=Operational(
                store,
                wake_all,
                faulted=metrics.internal_errors.labels(stage="operational").inc,
            ),
            fault_retry_seconds=self.settings.fault_retry_seconds,
            recorded=self._wake.set,
        )
        self._housekeeping = Housekeeping(
            store,
            store,
            store,
            self.owner,
            settings,
            leasing=lambda: bool(self._inflight) or self._recorder.waiting,
            wake=self._wake.set,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._transport = transport
        self._sandbox: SandboxPool | None = None  # started at the first transformation

    def wake(self) -> None:
        """Called by the API in the same process when new work is due now."""
        self._wake.set()

    async def run(self) -> None:
        """Run until ``stop``; then drain in-flight attempts and flush their records."""
        if self._transport is None:
            self._transport = delivery_transport(self.settings, self.networks)
        young, *older = gc.get_threshold()
        gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), *older)
        await self.queue.listen_for_work(self.wake)  # other processes' new work (PostgreSQL)
        self._recorder.start()
        self._tasks = [
            asyncio.create_task(self._housekeeping.run(), name="hookline-housekeeping"),
        ]
        try:
            await self._claim_loop()
        finally:
            await self._drain()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._slot_freed.set()
        self._recorder.hurry()

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
            if self._recorder.waiting or not await self._writable():
                await self._sleep(settings.poll_interval)
                continue
            expired: list[str] = []
            try:
                claims = await self.queue.claim_due(
                    self.owner,
                    limit=min(free, settings.claim_batch),
                    now=now_ms(),
                    lease_ms=lease_ms,
                    busy=self._per_webhook,
                    per_webhook=settings.endpoint_concurrency,
                    busy_workspaces=self._per_workspace,
                    per_workspace=settings.workspace_concurrency,
                    windows=self._windows.known(),
                    expired=expired,
                )
            except StorageUnavailable as exc:
                log.warning("claiming deliveries failed (%s); retrying", exc.__cause__ or exc)
                await self._sleep(settings.poll_interval)
                continue
            except Exception:
                log.exception("claiming deliveries failed; retrying")
                await self._sleep(settings.poll_interval)
                continue
            if expired:
                self._outcome("expired").inc(len(expired))
                self._recorder.expired(expired)
            for claim in claims:
                self._start(claim)
            if len(claims) < min(free, settings.claim_batch):
                await self._sleep(await self._idle_wait())

    async def _writable(self) -> bool:
        """Whether the database has room for what a claim leads to (see ``ensure_writable``)."""
        try:
            await self.queue.ensure_writable()
        except StorageFull:
            return False
        return True

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
            due = await self.queue.next_due_at(after=now)
            if due is not None:
                wait = min(wait, max(0.0, (due - now_ms()) / 1000))
        return wait

    async def _release(self, dlv_ids: list[str]) -> None:
        try:
            await self.queue.release(self.owner, dlv_ids)
        except Exception:
            log.exception("releasing %d deliveries failed; their leases will expire", len(dlv_ids))

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    def _start(self, claim: Claim) -> None:
        self._per_webhook[claim.webhook.id] += 1
        self._per_workspace[claim.webhook.workspace_id] += 1
        task = asyncio.create_task(self._dispatch(claim))
        self._inflight[claim.delivery_id] = task
        task.add_done_callback(lambda _t: self._finished(claim))

    def _finished(self, claim: Claim) -> None:
        self._inflight.pop(claim.delivery_id, None)
        self._per_webhook[claim.webhook.id] -= 1
        if self._per_webhook[claim.webhook.id] <= 0:
            del self._per_webhook[claim.webhook.id]
        self._per_workspace[claim.webhook.workspace_id] -= 1
        if self._per_workspace[claim.webhook.workspace_id] <= 0:
            del self._per_workspace[claim.webhook.workspace_id]
        self._slot_freed.set()

    # -- prepare, send, decide ------------------------------------------------

    async def _dispatch(self, claim: Claim) -> None:
        with tracing.attempt(claim) as span:
            try:
                pending = self._prepare(claim, timestamp=int(time.time()))
            except Exception as exc:
                await self._internal_fault(claim, "prepare", span, exc)
                return
            transformation = claim.webhook.transformation
            if transformation is not None and transformation.enabled:
                transformed = await self._transform(pending, span)
                if transformed is None:
                    return
                pending = transformed
            if self.settings.trace_propagation and span.is_recording():
                pending = _carrying(pending, tracing.headers(span))
            started = now_ms()
            try:
                result = await self._send(pending)
            except Exception as exc:
                await self._internal_fault(claim, "send", span, exc)
                return
            try:
                concluded = self._conclude(pending, result, started)
            except Exception as exc:
                await self._internal_fault(claim, "decide", span, exc)
                return
            tracing.attempted(span, result, concluded.verdict)
        self._recorder.add(concluded.record, faults=claim.internal_faults)

    def _prepare(
        self, claim: Claim, *, timestamp: int, body: bytes | None = None
    ) -> PendingDispatch:
        settings = self.settings
        return prepare(
            claim,
            box=self.box,
            delivery_defaults=settings.delivery,
            policy_defaults=settings.retry_policy,
            timestamp=timestamp,
            body=body,
        )

    async def _transform(self, pending: PendingDispatch, span: Span) -> PendingDispatch | None:
        """``pending`` as the webhook's enabled transformation changed it; None when the
        attempt ends here: the transformation failed or cancelled the delivery (recorded), or
        the sandbox failed (a fault of Hookline's own)."""
        claim = pending.claim
        if self._sandbox is None:
            self._sandbox = SandboxPool(self.settings.sandbox_limits)
        fmt = self.settings.delivery.over(claim.workspace_settings.delivery)
        started = now_ms()
        try:
            outcome = await transform(
                pending,
                self._sandbox,
                rules=self._url_rules,
                brand=fmt.brand,
                prepare_again=lambda changed, body: self._prepare(
                    changed, timestamp=pending.timestamp, body=body
                ),
            )
        except Exception as exc:  # SandboxUnavailable, or a bug
            await self._internal_fault(claim, "transform", span, exc)
            return None
        if isinstance(outcome, PendingDispatch):
            return outcome
        finished = now_ms()
        if isinstance(outcome, Cancelled):
            self._outcome("cancelled").inc()
            record = cancelled_record(
                pending, attempt_id=new_id("att"), started=started, finished=finished
            )
            self._recorder.add(record, faults=claim.internal_faults)
            return None
        result = SendResult(
            status_code=None,
            headers={},
            body="",
            truncated=False,
            error=AttemptError.TRANSFORMATION_ERROR,
            duration_ms=outcome.duration_ms,
            retry_after=None,
            final_url=pending.request.url,
        )
        concluded = self._conclude(pending, result, started)
        tracing.attempted(span, result, concluded.verdict)
        self._recorder.add(
            failed_record(concluded.record, outcome.message), faults=claim.internal_faults
        )
        return None

    async def _send(self, pending: PendingDispatch) -> SendResult:
        assert self._transport is not None
        result = await self._transport.send(pending.request)
        timed_out = result.error is AttemptError.TIMEOUT
        self._windows.ended(pending.claim.webhook.id, timed_out=timed_out)
        return result

    async def _internal_fault(self, claim: Claim, stage: str, span: Span, exc: Exception) -> None:
        """A fault of Hookline's own ends no delivery: it goes back to the queue, unattempted.

        Only the receiver's answers and the retry policy end a delivery. A bug, a key
        that cannot open its secrets or a database error is logged (with its traceback once,
        when the delivery becomes stuck) and counted (and marked on the attempt's span), and
        the delivery is tried again after a backoff that grows with each fault in a row.
        """
        log_fault(claim.delivery_id, stage, exc, faults=claim.internal_faults)
        self.metrics.internal_errors.labels(stage=stage).inc()
        tracing.fault(span, stage)
        await self._defer(claim.delivery_id, claim.internal_faults, fault_reason(stage, exc))

    async def _defer(self, dlv_id: str, faults: int, error: str) -> None:
        """Put a claimed delivery back to be tried after its backoff, ``error`` its last error,
        retrying while the store fails (a stop cancels this, and the delivery is released)."""
        while True:
            try:
                await defer_once(
                    self.queue,
                    self.owner,
                    dlv_id,
                    faults=faults,
                    first=self.settings.fault_retry_seconds,
                    error=error,
                )
                return
            except StorageUnavailable as exc:
                log.warning("deferring delivery %s failed (%s); retrying", dlv_id, exc.error_code)
            except Exception:
                log.exception("deferring delivery %s failed; retrying", dlv_id)
            await asyncio.sleep(0.5)

    def _conclude(self, pending: PendingDispatch, result: SendResult, started: int) -> Concluded:
        concluded = conclude(
            pending, result, attempt_id=new_id("att"), started=started, finished=now_ms()
        )
        verdict = concluded.verdict
        if attempts_log.isEnabledFor(self._attempt_log_level):
            _log_attempt(self._attempt_log_level, pending.claim, result, verdict)
        self._outcome(verdict.kind).inc()
        self.metrics.attempt_duration.observe(result.duration_ms / 1000)
        return concluded

    def _outcome(self, kind: str) -> prometheus_client.Counter:
        """The deliveries counter of one outcome, looked up once rather than per attempt."""
        counter = self._outcomes.get(kind)
        if counter is None:
            counter = self._outcomes[kind] = self.metrics.deliveries.labels(outcome=kind)
        return counter

    # -- shutdown -------------------------------------------------------------

    async def _drain(self) -> None:
        grace = self.settings.shutdown_grace
        give_up_at = time.monotonic() + 2 * grace
        pending = list(self._inflight.values())
        if pending:
            _done, late = await asyncio.wait(pending, timeout=grace)
            late_ids = [d for d, t in self._inflight.items() if t in late]
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            if late_ids:
                await self._release(late_ids)
        await self._recorder.close(give_up_at=give_up_at, grace=grace)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sandbox is not None:
            await self._sandbox.close()
        if self._transport is not None:
            try:
                await self._transport.close()
            except Exception as exc:
                log.warning("closing the dispatcher's connections failed: %r", exc)


def delivery_transport(settings: Settings, networks: tuple[Network, ...] = ()) -> Transport:
    """The transport deliveries go through: the ``Router`` hands a request for a queue to its
    publisher, any other to the OAuth2 wrapper (a token where the webhook wants one), which
    passes it on to the aiohttp sender; each connection passes the destination rules (those
    of ``settings``, and ``networks`` open beside them)."""
    session = make_session(
        open_network=settings.dev,
        allowed=networks,
        limit=settings.worker_concurrency,
        egress=settings.egress,
    )
    http = AiohttpTransport(
        session,
        open_network=settings.dev,
        allowed=networks,
        allow_http=settings.http_allowed,
    )
    return Router(
        OAuth2Transport(http, user_agent=settings.delivery.user_agent),
        Guard(open_network=settings.dev, allowed=networks),
    )


def _carrying(pending: PendingDispatch, trace_headers: dict[str, str]) -> PendingDispatch:
    """The request with the attempt span's W3C headers added after signing: no signature
    scheme covers them (RFC 9421 signs a fixed list of components that leaves them out)."""
    request = pending.request
    return replace(pending, request=replace(request, headers={**request.headers, **trace_headers}))


def _log_attempt(level: int, claim: Claim, result: SendResult, verdict: Verdict) -> None:
    answer = f"HTTP {result.status_code}" if result.status_code is not None else result.error
    retry_at = verdict.at_ms if isinstance(verdict, RetryAt) else None
    then = f"retry at {format_ms(retry_at)}" if retry_at is not None else verdict.kind
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
                "outcome": verdict.kind,
                "retryAt": format_ms(retry_at),
            }
        },
    )
