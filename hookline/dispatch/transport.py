"""What an attempt asks of HTTP: one prepared request in, one result out. Sans I/O.

``prepare`` builds the ``OutboundRequest``; a ``Transport`` posts it (``sender``'s
aiohttp one, with the guards that keep deliveries off blocked addresses) and
reports a ``SendResult``, whatever happened: a transport raises only on a bug.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from hookline.domain.queues import Destination

# Redirect hops an attempt follows when its retry policy says to follow them.
MAX_REDIRECTS = 5


@dataclass(frozen=True, kw_only=True, slots=True)
class OutboundRequest:
    """A POST of ``body`` to ``url``, complete: headers signed, the deadline and the number of
    redirect hops to follow (0: a redirect is the answer) set by the retry policy."""

    url: str
    headers: Mapping[str, str] = field(repr=False)  # credentials among them
    body: bytes
    timeout: float
    max_redirects: int = 0
    # Headers that go only to ``url``'s origin: a redirect hop to another origin is sent
    # without them (``Authorization``, ``Cookie`` and ``Proxy-Authorization`` never go there).
    origin_only: frozenset[str] = frozenset()
    # A client certificate and its key (PEM) to present to the webhook's origin (mTLS).
    client_certificate: tuple[str, str] | None = field(default=None, repr=False)
    # Not HTTP: the queue, stream or topic to publish to (hookline.domain.queues).
    destination: Destination | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class SendResult:
    """The answer (``status_code`` None when there was none) or the ``error`` that stood
    in for it, and ``final_url``, the last URL posted to."""

    status_code: int | None
    headers: dict[str, str]
    body: str
    truncated: bool
    error: str | None
    duration_ms: float
    retry_after: float | None
    final_url: str
    # A destination other than HTTP took the message (``body``: what it said, e.g. its id).
    acknowledged: bool = False


class Transport(Protocol):
    async def send(self, request: OutboundRequest) -> SendResult: ...
