"""Faults of Hookline's own: the delivery goes back to the queue, unattempted, after a backoff.

Only the receiver's answers and the retry policy end a delivery. A bug, a key that cannot
open its secrets or a database error puts the delivery back to pending with
``store.defer``, tried again after a backoff that grows with each fault in a row.
"""

from __future__ import annotations

import logging
import random

from hookline.ids import now_ms
from hookline.store.port import Queue

log = logging.getLogger("hookline.dispatch")

# The longest wait after a fault of Hookline's own (seconds), and the error it leaves.
FAULT_BACKOFF_MAX = 600.0
INTERNAL_ERROR = "internal_error"


def fault_backoff_ms(faults: int, first: float) -> int:
    """How long a delivery waits after a fault of Hookline's own, ``faults`` others before it
    in a row: ``first`` seconds doubling up to ``FAULT_BACKOFF_MAX``, with 10 % jitter."""
    delay = min(FAULT_BACKOFF_MAX, first * 2.0 ** min(faults, 32))
    return round(delay * random.uniform(0.9, 1.0) * 1000)


async def defer_once(queue: Queue, owner: str, dlv_id: str, *, faults: int, first: float) -> None:
    """Give the claimed delivery back, due after its backoff; raises when the store fails."""
    until = now_ms() + fault_backoff_ms(faults, first)
    if not await queue.defer(owner, dlv_id, until=until, error=INTERNAL_ERROR):
        log.warning("delivery %s is no longer leased to this worker", dlv_id)
