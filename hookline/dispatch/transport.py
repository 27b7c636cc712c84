"""What an attempt asks of a destination: one prepared request in, one result out. Sans I/O.

``prepare`` builds the ``OutboundRequest``; a ``Transport`` sends it and reports a
``SendResult``, whatever happened: a transport raises only on a bug. Transports wrap one
another, each adding one concern, and the dispatcher holds the outermost one: the
``Router`` (``publishers``) hands a request for a queue to its publisher and any other to
the OAuth2 wrapper (``oauth2``), which adds a token where the webhook wants one and passes
the request on to the aiohttp sender (``sender``), with the guards that keep deliveries off
blocked addresses. ``close`` closes a transport and what it wraps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hookline.domain.attempt_errors import AttemptError
from hookline.domain.endpoint_auth import OAuth2
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
    # OAuth 2.0 client credentials: the request goes with a bearer token from their token URL.
    oauth2: OAuth2 | None = field(default=None, repr=False)
    # Not HTTP: the queue, stream or topic to publish to (hookline.domain.queues).
    destination: Destination | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class TokenRequest:
    """One request for an OAuth2 token an attempt made, as its record shows it (never the
    token or the secret): the URL asked, its status, why no token came of it, how long."""

    url: str
    status: int | None
    error: AttemptError | None
    duration_ms: float

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "error": self.error,
            "durationMs": self.duration_ms,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class SendResult:
    """The answer (``status_code`` None when there was none) or the ``error`` that stood
    in for it, and ``final_url``, the last URL posted to."""

    status_code: int | None
    headers: dict[str, str]
    body: str
    truncated: bool
    error: AttemptError | None
    duration_ms: float
    retry_after: float | None
    final_url: str
    # A destination other than HTTP took the message (``body``: what it said, e.g. its id).
    acknowledged: bool = False
    # The request as it went out when a wrapper changed it (the OAuth2 token added); None:
    # as prepared. The attempt's record shows this one.
    sent: OutboundRequest | None = field(default=None, repr=False)
    # The token requests the OAuth2 wrapper made for this attempt, in order.
    token_requests: tuple[TokenRequest, ...] = ()


class Transport(Protocol):
    async def send(self, request: OutboundRequest) -> SendResult:
        """Send ``request``; what happened, whatever it was (only a bug raises)."""
        ...

    async def close(self) -> None:
        """Close what this transport holds open, and the transports it wraps."""
        ...
