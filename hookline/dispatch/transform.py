"""Between preparing and sending, for a webhook with a transformation: run its JavaScript on
the request about to go out, in the sandbox (``hookline.sandbox``), and prepare what it returned.

``transform`` gives the request to send (its body the returned payload, signed as such, to
the returned URL with the returned custom headers), ``Cancelled`` when the code said
``cancel: true``, or ``TransformFailed`` with the message of what went wrong in the customer's
code (the attempt fails with ``transformation_error``). ``SandboxUnavailable`` passes through:
that is a fault of Hookline's own, which ends no delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from hookline.dispatch.prepare import PendingDispatch
from hookline.domain import transformations
from hookline.domain.models import Attempt, AttemptOutcome, DeliveryStatus
from hookline.domain.transformation_rules import UrlRules, read
from hookline.domain.transformations import Cancelled, InvalidResult
from hookline.sandbox.pool import SandboxPool, TransformationFailed
from hookline.store.port import AttemptRecord, Claim


@dataclass(frozen=True, slots=True)
class TransformFailed:
    """The customer's code failed: the attempt fails with ``transformation_error``."""

    message: str
    duration_ms: float  # of the run in the sandbox


async def transform(
    pending: PendingDispatch,
    sandbox: SandboxPool,
    *,
    rules: UrlRules,
    brand: str,
    prepare_again: Callable[[Claim, bytes], PendingDispatch],
) -> PendingDispatch | Cancelled | TransformFailed:
    """Run the webhook's transformation on ``pending``; ``prepare_again`` prepares (and signs)
    a claim whose webhook has the returned URL and headers, with the returned body."""
    claim = pending.claim
    wh = claim.webhook
    assert wh.transformation is not None
    given = transformations.webhook_input(
        event_type=claim.event.type, body=pending.request.body, url=wh.url, headers=wh.headers
    )
    try:
        ran = await sandbox.run(wh.transformation.code, given)
    except TransformationFailed as exc:
        return TransformFailed(str(exc), exc.duration_ms)
    try:
        result = read(ran.output, wh, rules=rules, brand=brand)
    except InvalidResult as exc:
        return TransformFailed(str(exc), ran.duration_ms)
    if isinstance(result, Cancelled):
        return result
    changed = replace(claim, webhook=replace(wh, url=result.url, headers=result.headers))
    return prepare_again(changed, result.body.encode())


def failed_record(record: AttemptRecord, message: str) -> AttemptRecord:
    """``record`` of an attempt that ``transformation_error`` ended, with the message."""
    attempt = record.attempt
    request = {**attempt.request, "transformationError": message}
    return replace(record, attempt=replace(attempt, request=request))


def cancelled_record(
    pending: PendingDispatch, *, attempt_id: str, started: int, finished: int
) -> AttemptRecord:
    """The record of an attempt its transformation cancelled: nothing was sent, the delivery
    ends ``cancelled``; the request shows what would have been transformed."""
    claim = pending.claim
    attempt = Attempt(
        id=attempt_id,
        delivery_id=claim.delivery_id,
        number=claim.attempt,
        started_at=started,
        duration_ms=float(finished - started),
        request={**pending.request_record(), "cancelled": True},
        response=None,
        error=None,
        outcome=AttemptOutcome.SUCCESS,
    )
    return AttemptRecord(
        attempt=attempt,
        webhook_id=claim.webhook.id,
        status=DeliveryStatus.CANCELLED,
        next_attempt_at=None,
        status_code=None,
        error=None,
        completed_at=finished,
    )
