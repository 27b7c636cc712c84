"""Faults of Hookline's own: the delivery goes back to the queue, unattempted, after a backoff.

Only the receiver's answers and the retry policy end a delivery. A bug, a key that cannot
open its secrets or a database error puts the delivery back to pending with
``store.defer``, tried again after a backoff that grows with each fault in a row; its last
error says which stage failed with what (``fault_reason``).

After ``STUCK_AFTER_FAULTS`` faults in a row the delivery is stuck (``Delivery.stuck``):
that fault is logged at ERROR with its traceback, once; every other fault is one WARNING
line, so a delivery stuck for days does not fill the log with the same traceback.
"""

from __future__ import annotations

import logging
import random

from hookline.domain.attempt_errors import INTERNAL_ERROR
from hookline.domain.models import STUCK_AFTER_FAULTS
from hookline.ids import now_ms
from hookline.store.port import Queue

log = logging.getLogger("hookline.dispatch")

# The longest wait after a fault of Hookline's own (seconds).
FAULT_BACKOFF_MAX = 600.0


def fault_backoff_ms(faults: int, first: float) -> int:
    """How long a delivery waits after a fault of Hookline's own, ``faults`` others before it
    in a row: ``first`` seconds doubling up to ``FAULT_BACKOFF_MAX``, with 10 % jitter."""
    delay = min(FAULT_BACKOFF_MAX, first * 2.0 ** min(faults, 32))
    return round(delay * random.uniform(0.9, 1.0) * 1000)


def fault_reason(stage: str, exc: BaseException) -> str:
    """The delivery's last error after a fault at ``stage``: ``internal_error: <stage>:
    <exception class>``. The exception's message goes to the log only: it may quote what the
    workspace's users must not see (an internal host name, a query)."""
    return f"{INTERNAL_ERROR}: {stage}: {type(exc).__name__}"


def log_fault(dlv_id: str, stage: str, exc: BaseException, *, faults: int) -> None:
    """Log the fault at ``stage`` that defers delivery ``dlv_id``, ``faults`` others before it
    in a row: at ERROR with the traceback when it makes the delivery stuck, else a WARNING."""
    count = faults + 1
    reason = fault_reason(stage, exc)
    extra = {
        "fields": {
            "delivery": dlv_id,
            "stage": stage,
            "faults": count,
            "error": reason,
            "stuck": count >= STUCK_AFTER_FAULTS,
        }
    }
    if count == STUCK_AFTER_FAULTS:
        log.error(
            "delivery %s is stuck: %d faults of Hookline's own in a row, the last %s (%s); "
            "it is still tried again after each backoff",
            dlv_id,
            count,
            reason,
            exc,
            exc_info=exc,
            extra=extra,
        )
    elif count > STUCK_AFTER_FAULTS:
        log.warning(
            "delivery %s is still stuck: fault %d in a row, %s (%s); it is tried again later",
            dlv_id,
            count,
            reason,
            exc,
            extra=extra,
        )
    else:
        log.warning(
            "%s of delivery %s failed: %s (%s); it is tried again later",
            stage,
            dlv_id,
            reason,
            exc,
            extra=extra,
        )


async def defer_once(
    queue: Queue, owner: str, dlv_id: str, *, faults: int, first: float, error: str
) -> None:
    """Give the claimed delivery back, due after its backoff, ``error`` its last error;
    raises when the store fails."""
    until = now_ms() + fault_backoff_ms(faults, first)
    if not await queue.defer(owner, dlv_id, until=until, error=error):
        log.warning("delivery %s is no longer leased to this worker", dlv_id)
