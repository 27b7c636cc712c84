"""Stage four of a dispatch: what an attempt's answer means for its delivery. Pure.

The retry policy decides (``retry.decide``); this module turns that decision and the
send result into a typed verdict and the attempt record the recorder writes, so the
dispatcher's task only sends and hands over.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar

from hookline.dispatch.prepare import PendingDispatch
from hookline.dispatch.transport import SendResult
from hookline.domain.models import Attempt, AttemptOutcome, DeliveryStatus
from hookline.domain.retry import Decision, Outcome, decide
from hookline.domain.statuses import StopReason
from hookline.store.port import AttemptRecord


@dataclass(frozen=True, slots=True)
class Succeeded:
    """The receiver accepted the delivery: it is done."""

    kind: ClassVar[str] = "succeeded"
    status: ClassVar[DeliveryStatus] = DeliveryStatus.SUCCEEDED


@dataclass(frozen=True, slots=True)
class RetryAt:
    """The delivery is pending again, due at ``at_ms``."""

    at_ms: int
    kind: ClassVar[str] = "retry"
    status: ClassVar[DeliveryStatus] = DeliveryStatus.PENDING


@dataclass(frozen=True, slots=True)
class Failed:
    """The delivery is done without success; ``stop_webhook`` when the webhook goes out of
    service with it (retries ran out under a policy that pauses, or the endpoint is gone)."""

    stop_webhook: StopReason | None = None
    kind: ClassVar[str] = "failed"
    status: ClassVar[DeliveryStatus] = DeliveryStatus.FAILED


@dataclass(frozen=True, slots=True)
class Expired:
    """The delivery is done without success: its next attempt would have started after its
    event's ttl ran out."""

    kind: ClassVar[str] = "expired"
    status: ClassVar[DeliveryStatus] = DeliveryStatus.EXPIRED


Verdict = Succeeded | RetryAt | Failed | Expired


@dataclass(frozen=True, kw_only=True, slots=True)
class Concluded:
    """An attempt's verdict and the record that writes it."""

    verdict: Verdict
    record: AttemptRecord


def verdict_of(decision: Decision, *, test: bool = False) -> Verdict:
    """The typed verdict of a decision. A test ping is tried once and pauses nothing."""
    if decision.kind == "succeeded":
        return Succeeded()
    if test:
        return Failed()
    if decision.kind == "retry":
        assert decision.retry_at_ms is not None
        return RetryAt(decision.retry_at_ms)
    if decision.kind == "expired":
        return Expired()
    return Failed(stop_webhook=decision.stop_webhook)


def conclude(
    pending: PendingDispatch,
    result: SendResult,
    *,
    attempt_id: str,
    started: int,
    finished: int,
    rng: random.Random | None = None,
) -> Concluded:
    """Decide what follows the attempt that ``result`` reports (sent at ``started``, answered
    at ``finished``) and build its record."""
    claim = pending.claim
    outcome = Outcome(
        status_code=result.status_code,
        error=result.error,
        retry_after=result.retry_after,
        acknowledged=result.acknowledged,
    )
    decision = decide(
        pending.policy, claim.attempt, outcome, finished, rng, expires_at=claim.expires_at
    )
    verdict = verdict_of(decision, test="test" in claim.tags)
    attempt = Attempt(
        id=attempt_id,
        delivery_id=claim.delivery_id,
        number=claim.attempt,
        started_at=started,
        duration_ms=result.duration_ms,
        request=pending.request_record(result),
        response=None
        if result.status_code is None and not result.acknowledged
        else {
            "status": result.status_code,
            "headers": result.headers,
            "body": result.body,
            "truncated": result.truncated,
        },
        error=result.error,
        outcome=AttemptOutcome.SUCCESS if outcome.succeeded else AttemptOutcome.FAILURE,
    )
    record = AttemptRecord(
        attempt=attempt,
        webhook_id=claim.webhook.id,
        status=verdict.status,
        next_attempt_at=verdict.at_ms if isinstance(verdict, RetryAt) else None,
        status_code=result.status_code,
        error=result.error,
        completed_at=None if isinstance(verdict, RetryAt) else finished,
        stop_webhook=verdict.stop_webhook if isinstance(verdict, Failed) else None,
    )
    return Concluded(verdict=verdict, record=record)
