"""A receiver's endpoint that fails some attempts in every way it can: ``Chaos`` answers each
request (``Receiver.endpoint(respond=chaos)``), chosen per (delivery, attempt) from a seeded
generator so that a run is reproducible: a 5xx, a hang (no answer until the client gives up
and closes the connection) or a reset (the connection closed with RST, no answer). The last
attempt of a schedule is always answered 200, so every delivery can succeed within it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from support.receiver import HANG, RESET, Answer, Received

# The 5xx answers of an error, taken in turn by attempt number.
ERRORS = (500, 502, 503)


@dataclass(frozen=True, kw_only=True)
class Chaos:
    """Shares of attempts that get a 5xx, hang, or are reset; the rest succeed."""

    error: float = 0.3
    hang: float = 0.1
    reset: float = 0.1
    last_attempt: int = 8  # always answered 200
    seed: int = 1

    def __call__(self, request: Received) -> Answer:
        attempt = request.attempt
        if attempt >= self.last_attempt:
            return 200
        draw = random.Random(f"{self.seed}:{request.delivery}:{attempt}").random()
        if draw < self.error:
            return ERRORS[attempt % len(ERRORS)]
        if draw < self.error + self.hang:
            return HANG
        if draw < self.error + self.hang + self.reset:
            return RESET
        return 200
