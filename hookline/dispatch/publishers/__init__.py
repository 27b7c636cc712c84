"""Destinations other than HTTP, each one module behind the ``Transport`` protocol.

``Router`` is the dispatcher's transport: a request without a ``destination`` goes to the
HTTP transport (``hookline.dispatch.oauth2`` around ``hookline.dispatch.sender``), any other
to the publisher of its kind (``rabbitmq``, ``nats``, ``redis``, ``aws`` for SQS, SNS and
EventBridge), imported the first time a webhook uses it. A publisher keeps one connection per
broker and destination credentials (``clients.Clients``) and reports, like the HTTP transport, a ``SendResult``
whatever happened: an acknowledged message, or the error that stood in for it
(``connect_error``, ``timeout``, ``not_acknowledged``, ``publish_error``,
``blocked_destination``, ``unexpected_response``: an answer the client cannot read, or
without what acknowledges the message). What the destination answers is its outcome,
recorded as an attempt; only a bug of Hookline's own raises out of a publisher. The body is
the envelope as an HTTP delivery's; the signature and delivery headers go as message headers
(or, on SQS and SNS, as message attributes).

Outside dev mode a broker's host is resolved here and its addresses checked with the rules
of webhook hosts; the connection then goes to a checked address. Where the client must
connect by name (TLS, whose certificate is checked against the name; botocore) every address
the name has must pass, and the client's own lookup a moment later is trusted to agree.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from hookline.dispatch.transport import OutboundRequest, SendResult, Transport
from hookline.domain import queues
from hookline.domain.attempt_errors import AttemptError
from hookline.domain.network_guard import Network, ip_literal, is_blocked

log = logging.getLogger("hookline.dispatch")

# The module that publishes each kind of destination.
MODULES: dict[type[queues.Destination], str] = {
    queues.RabbitMQ: "rabbitmq",
    queues.Nats: "nats",
    queues.Redis: "redis",
    queues.SQS: "aws",
    queues.SNS: "aws",
    queues.EventBridge: "aws",
}


# What a client library raises while it reads an answer that is not what its protocol says
# (a missing field, a list for a map, text for JSON): caught around the call to the client and
# recorded as ``unexpected_response``.
UNREADABLE = (LookupError, AttributeError, TypeError, ValueError)


class Publisher(Protocol):
    async def publish(self, request: OutboundRequest, guard: Guard) -> SendResult: ...
    async def close(self) -> None: ...


class Refused(Exception):
    """The attempt's error is ``error``; ``detail`` says more, for the log."""

    def __init__(self, error: AttemptError, detail: str = "") -> None:
        super().__init__(error, detail)
        self.error = AttemptError(error)
        self.detail = detail


def unexpected(exc: BaseException) -> Refused:
    """The refusal that records an answer the client could not read (``exc`` what it raised)."""
    return Refused(AttemptError.UNEXPECTED_RESPONSE, f"{type(exc).__name__}: {exc}")


class Guard:
    """Resolves a broker's host and refuses blocked addresses (unless the network is open)."""

    def __init__(self, *, open_network: bool, allowed: Sequence[Network]) -> None:
        self.open_network = open_network
        self.allowed = tuple(allowed)

    async def address(self, host: str, port: int, *, every: bool = False) -> str:
        """The address to connect to for ``host``: the first one that is allowed; with
        ``every``, only if all of them are."""
        if self.open_network:
            return host
        literal = ip_literal(host)
        if literal is not None:
            candidates = [str(literal)]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
            except OSError as exc:
                raise Refused(AttemptError.DNS_ERROR, str(exc)) from exc
            candidates = [str(info[4][0]) for info in infos]
        allowed = [c for c in candidates if _allowed(c, self.allowed)]
        if allowed and (not every or len(allowed) == len(candidates)):
            return allowed[0]
        raise Refused(AttemptError.BLOCKED_DESTINATION, f"{host} resolves to a blocked address")


def _without_secrets(text: str, destination: queues.Destination) -> str:
    """A client library's message with the destination's secrets masked, should it quote one."""
    for secret in destination.secret_values():
        text = text.replace(secret, "***")
    return text


def _allowed(candidate: str, allowed: Sequence[Network]) -> bool:
    address = ip_literal(candidate)
    return address is not None and not is_blocked(address, allowed)


class Router:
    """The ``Transport`` of every destination: HTTP, or the publisher of the request's kind."""

    def __init__(self, http: Transport, guard: Guard) -> None:
        self.http = http
        self.guard = guard
        self._publishers: dict[str, Publisher] = {}

    async def send(self, request: OutboundRequest) -> SendResult:
        if request.destination is None:
            return await self.http.send(request)
        start = time.perf_counter()
        publisher = self._publisher(type(request.destination))
        try:
            async with asyncio.timeout(request.timeout):
                return await publisher.publish(request, self.guard)
        except TimeoutError:
            return failed(request, start, AttemptError.TIMEOUT)
        except Refused as exc:
            detail = _without_secrets(exc.detail, request.destination)
            log.info("publishing to %s failed: %s %s", request.url, exc.error, detail)
            return failed(request, start, exc.error)

    def _publisher(self, kind: type[queues.Destination]) -> Publisher:
        name = MODULES[kind]
        if name not in self._publishers:
            module = importlib.import_module(f"hookline.dispatch.publishers.{name}")
            self._publishers[name] = module.make()
        return self._publishers[name]

    async def close(self) -> None:
        """Close the publishers in use, then the HTTP transport."""
        try:
            for publisher in self._publishers.values():
                await publisher.close()
        finally:
            await self.http.close()


def acknowledged(request: OutboundRequest, start: float, receipt: Mapping[str, Any]) -> SendResult:
    """The result of a message the destination took; ``receipt`` is what it said."""
    return SendResult(
        status_code=None,
        headers={},
        body=json.dumps(dict(receipt), default=str),
        truncated=False,
        error=None,
        duration_ms=elapsed(start),
        retry_after=None,
        final_url=request.url,
        acknowledged=True,
    )


def failed(request: OutboundRequest, start: float, error: AttemptError) -> SendResult:
    return SendResult(
        status_code=None,
        headers={},
        body="",
        truncated=False,
        error=error,
        duration_ms=elapsed(start),
        retry_after=None,
        final_url=request.url,
    )


def elapsed(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


def header(request: OutboundRequest, name: str) -> str | None:
    """The header named ``name`` (or, for ``-suffix``, ending so), case-insensitively."""
    for key, value in request.headers.items():
        lower = key.lower()
        if lower == name or (name.startswith("-") and lower.endswith(name)):
            return value
    return None
