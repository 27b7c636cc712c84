"""RabbitMQ: publish to an exchange with publisher confirms (aio-pika).

The message is persistent, ``mandatory`` (a message no queue takes comes back and the
attempt fails with ``unroutable``), its content type JSON and its message id the event id;
every delivery header is an AMQP header. A broker's negative acknowledgement is
``not_acknowledged``; a channel or connection the broker closes during the publish (the
exchange's declaration included) is ``publish_error``, and the connection is opened again
next time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import aio_pika
import aiormq.exceptions
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from yarl import URL

from hookline.dispatch.publishers import Guard, Refused, acknowledged, header
from hookline.dispatch.publishers.clients import Clients
from hookline.dispatch.transport import OutboundRequest, SendResult
from hookline.domain import queues
from hookline.domain.attempt_errors import AttemptError
from hookline.domain.queues import SCHEMES

# What a call on a channel raises when the broker closes it, or the connection, under it.
CLOSED = (
    aiormq.exceptions.AMQPError,
    aiormq.exceptions.ChannelInvalidStateError,
    ConnectionError,
    OSError,
)


@dataclass(frozen=True, slots=True)
class _Link:
    """A connection to a broker and the channel with publisher confirms opened on it."""

    connection: AbstractConnection
    channel: AbstractChannel

    def is_open(self) -> bool:
        return not self.connection.is_closed and not self.channel.is_closed

    async def close(self) -> None:
        if not self.connection.is_closed:
            await self.connection.close()


class RabbitMQ:
    def __init__(self) -> None:
        # A connection whose channel the broker closed is opened again.
        self._links: Clients[tuple[str, str | None, str | None], _Link] = Clients(
            close=_Link.close, alive=_Link.is_open
        )

    async def publish(self, request: OutboundRequest, guard: Guard) -> SendResult:
        start = time.perf_counter()
        destination = request.destination
        assert isinstance(destination, queues.RabbitMQ)
        key = destination.connection
        link = await self._links.get(key, lambda: self._connect(destination, guard))
        channel = link.channel
        try:
            exchange = await self._exchange(channel, destination.exchange)
        except CLOSED as exc:
            await self._links.forget(key)
            raise Refused(AttemptError.PUBLISH_ERROR, str(exc)) from exc
        message = aio_pika.Message(
            body=request.body,
            headers=dict(request.headers),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=header(request, "webhook-id") or header(request, "-delivery"),
        )
        routing_key = destination.routing_key or header(request, "-event") or ""
        try:
            confirm = await exchange.publish(message, routing_key=routing_key, mandatory=True)
        except aiormq.exceptions.DeliveryError as exc:
            returned = exc.message is not None
            error = AttemptError.UNROUTABLE if returned else AttemptError.NOT_ACKNOWLEDGED
            raise Refused(error, str(exc)) from exc
        except CLOSED as exc:
            await self._links.forget(key)
            raise Refused(AttemptError.PUBLISH_ERROR, str(exc)) from exc
        receipt = {"exchange": destination.exchange, "routingKey": routing_key}
        return acknowledged(request, start, receipt | {"confirm": type(confirm).__name__})

    async def _connect(self, destination: queues.RabbitMQ, guard: Guard) -> _Link:
        url = URL(destination.url)
        tls = url.scheme == "amqps"
        port = url.port or SCHEMES["rabbitmq"][url.scheme]
        checked = await guard.address(url.host or "", port, every=tls)
        try:
            connection = await aio_pika.connect(
                host=(url.host or "") if tls else checked,  # TLS verifies the name: connect by it
                port=port,
                login="guest" if destination.username is None else destination.username,
                password="guest" if destination.password is None else destination.password,
                virtualhost=url.path[1:] or "/",
                ssl=tls,
            )
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        except (aiormq.exceptions.AMQPError, ConnectionError, OSError) as exc:
            raise Refused(AttemptError.CONNECT_ERROR, str(exc)) from exc
        return _Link(connection, channel)

    async def _exchange(self, channel: AbstractChannel, name: str) -> AbstractExchange:
        if not name:
            return channel.default_exchange
        try:
            return await channel.get_exchange(name, ensure=True)
        except aiormq.exceptions.ChannelNotFoundEntity as exc:
            raise Refused(AttemptError.EXCHANGE_NOT_FOUND, str(exc)) from exc

    async def close(self) -> None:
        await self._links.close()


def make() -> RabbitMQ:
    return RabbitMQ()
