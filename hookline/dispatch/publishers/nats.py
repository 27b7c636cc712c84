"""NATS JetStream: publish to a subject and wait for the stream's acknowledgement (nats-py).

Every delivery header is a NATS header; ``Nats-Msg-Id`` is the event id, so JetStream's
duplicate window drops a second copy of the same event. A subject no stream takes is
``no_stream``. A reply that is no JetStream acknowledgement (a plain subscriber of the
subject answering, say) and a server whose greeting is not NATS are ``unexpected_response``.
"""

from __future__ import annotations

import time
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from yarl import URL

from hookline.dispatch.publishers import (
    UNREADABLE,
    Guard,
    Refused,
    acknowledged,
    header,
    unexpected,
)
from hookline.dispatch.publishers.clients import Clients
from hookline.dispatch.transport import OutboundRequest, SendResult
from hookline.domain import queues
from hookline.domain.attempt_errors import AttemptError


class Nats:
    def __init__(self) -> None:
        # A client that lost its connection (it does not reconnect) is connected again.
        self._clients: Clients[tuple[str, str | None, str | None], Client] = Clients(
            close=_close, alive=lambda client: client.is_connected
        )

    async def publish(self, request: OutboundRequest, guard: Guard) -> SendResult:
        start = time.perf_counter()
        destination = request.destination
        assert isinstance(destination, queues.Nats)
        client = await self._clients.get(
            destination.connection, lambda: self._connect(destination, guard, request.timeout)
        )
        headers = dict(request.headers)
        event_id = header(request, "webhook-id") or header(request, "-delivery")
        if event_id:
            headers["Nats-Msg-Id"] = event_id
        try:
            ack = await client.jetstream().publish(
                destination.subject, request.body, timeout=request.timeout, headers=headers
            )
        except nats.js.errors.NoStreamResponseError as exc:
            raise Refused(AttemptError.NO_STREAM, str(exc)) from exc
        except nats.errors.TimeoutError as exc:
            raise Refused(AttemptError.TIMEOUT, str(exc)) from exc
        except (nats.js.errors.Error, nats.errors.Error, OSError) as exc:
            raise Refused(AttemptError.PUBLISH_ERROR, str(exc)) from exc
        except UNREADABLE as exc:  # the reply is not JSON, or lacks the stream or sequence
            raise unexpected(exc) from exc
        receipt = {"stream": ack.stream, "seq": ack.seq, "duplicate": bool(ack.duplicate)}
        return acknowledged(request, start, receipt)

    async def _connect(self, destination: queues.Nats, guard: Guard, timeout: float) -> Client:
        url = URL(destination.url)
        port = url.port or 4222
        host = await guard.address(url.host or "", port)
        bracketed = f"[{host}]" if ":" in host else host
        server = f"{url.scheme}://{bracketed}:{port}"
        options: dict[str, Any] = {
            "servers": [server],
            "connect_timeout": timeout,
            "allow_reconnect": False,
            "max_reconnect_attempts": 0,
        }
        if destination.username is not None:
            options |= {"user": destination.username, "password": destination.password}
        if url.scheme == "tls":
            options["tls_hostname"] = url.host
        try:
            return await nats.connect(**options)
        except (nats.errors.Error, OSError) as exc:
            raise Refused(AttemptError.CONNECT_ERROR, str(exc)) from exc
        except UNREADABLE as exc:  # a server whose INFO is not what NATS sends
            raise unexpected(exc) from exc

    async def close(self) -> None:
        await self._clients.close()


async def _close(client: Client) -> None:
    if not client.is_closed:
        await client.close()


def make() -> Nats:
    return Nats()
