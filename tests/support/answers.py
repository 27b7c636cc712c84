"""What the recording receiver answers, and what it keeps of each request.

An ``Answer`` is one of:

- a status (``500``), or a status with response headers (``(429, {"Retry-After": "3"})``);
- a ``Reply``: a status, a body, headers and a content type;
- ``HANG``: no answer until the client gives up (closes the connection), the receiver is
  released (``Receiver.release``: then 200) or ``HANG_LIMIT`` runs out (then the connection is
  closed without an answer);
- ``RESET``: the connection is reset (RST) without an answer, as a crashing peer's would be.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from multidict import CIMultiDict

HANG: Final = "hang"
RESET: Final = "reset"
# The longest a hanging request is held if neither the client nor the test ends it.
HANG_LIMIT = 30.0


@dataclass(frozen=True, kw_only=True)
class Reply:
    """A whole answer; the body defaults to ``answered <status>``."""

    status: int = 200
    body: str | bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "text/plain"


Answer: TypeAlias = int | tuple[int, dict[str, str]] | Reply | Literal["hang", "reset"]
Behaviour: TypeAlias = Literal["ok", "error", "hang", "reset"]


def as_reply(answer: int | tuple[int, dict[str, str]] | Reply) -> Reply:
    if isinstance(answer, Reply):
        return answer
    if isinstance(answer, int):
        return Reply(status=answer)
    status, headers = answer
    return Reply(status=status, headers=headers)


@dataclass(eq=False, kw_only=True)
class Received:
    """One request as it arrived. ``answered`` and ``status`` are filled in once its answer
    is written (``None``: never, the connection ended first or it hung)."""

    method: str
    path: str
    url: str  # scheme://{Host}{path and query as sent}: what a receiver verifies as @target-uri
    headers: CIMultiDict[str]  # names as sent, looked up without regard to case
    body: bytes
    at: float  # time.monotonic() on arrival, before any scripted delay
    connection: int  # the receiver's number for the connection it came on
    answer: Answer | None = None  # what the script chose (None: the endpoint's handler)
    answered: float | None = None  # time.monotonic() once the answer was written
    status: int | None = None  # the status written

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def delivery(self) -> str:
        """The delivery id it carries (``X-Hookline-Delivery``, or ``webhook-id``)."""
        return self.headers.get("X-Hookline-Delivery") or self.headers.get("webhook-id") or ""

    @property
    def attempt(self) -> int:
        return int(self.headers.get("X-Hookline-Attempt", "1"))

    @property
    def behaviour(self) -> Behaviour:
        """What the script did: hang, reset, an error (a 5xx), or ok (any other answer)."""
        if isinstance(self.answer, str):
            return self.answer
        if self.answer is not None and as_reply(self.answer).status >= 500:
            return "error"
        return "ok"


# Answers a request of its own choosing (a seeded chaos, a token endpoint).
Responder: TypeAlias = Callable[[Received], Answer]
