"""RabbitMQ: publish to an exchange with publisher confirms (aio-pika).

The message is persistent, ``mandatory`` (a message no queue takes comes back and the
attempt fails with ``unroutable``), its content type JSON and its message id the event id;
every delivery header is an AMQP header. A broker's negative acknowledgement is
``not_acknowledged``; a channel or connection the broker closes during the publish (the
exchange's declaration included) is ``publish_error``, and the connection is opened again
next time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aio_pika
import aiormq.exceptions
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from yarl import URL

from hookline.dispatch.publishers import Guard, Refused, acknowledged, header
from hookline.dispatch.transport import OutboundRequest, SendResult
from hookline.domain import queues
from hookline.domain.queues import SCHEMES

# What a call on a channel raises when the broker closes it, or the connection, under it.
CLOSED = (
    aiormq.exceptions.AMQPError,
    aiormq.exceptions.ChannelInvalidStateError,
    ConnectionError,
    OSError,
)


class RabbitMQ:
    def __init__(self) -> None:
        self._connections: dict[tuple[Any, ...], tuple[AbstractConnection, AbstractChannel]] = {}
        self._locks: dict[tuple[Any, ...], asyncio.Lock] = {}

    async def publish(self, request: OutboundRequest, guard: Guard) -> SendResult:
        start = time.perf_counter()
        destination = request.destination
        assert isinstance(destination, queues.RabbitMQ)
        channel = await self._channel(destination, guard)
        try:
            exchange = await self._exchange(channel, destination.exchange)
        except CLOSED as exc:
            await self._forget(destination)
            raise Refused("publish_error", str(exc)) from exc
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
            raise Refused("unroutable" if returned else "not_acknowledged", str(exc)) from exc
        except CLOSED as exc:
            await self._forget(destination)
            raise Refused("publish_error", str(exc)) from exc
        receipt = {"exchange": destination.exchange, "routingKey": routing_key}
        return acknowledged(request, start, receipt | {"confirm": type(confirm).__name__})

    async def _channel(self, destination: queues.RabbitMQ, guard: Guard) -> AbstractChannel:
        key = destination.connection
        async with self._locks.setdefault(key, asyncio.Lock()):
            found = self._connections.get(key)
            if found is not None and not found[0].is_closed and not found[1].is_closed:
                return found[1]
            await self._forget(destination)  # a connection whose channel the broker closed
            return await self._connect(destination, guard)

    async def _connect(self, destination: queues.RabbitMQ, guard: Guard) -> AbstractChannel:
        key = destination.connection
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
            raise Refused("connect_error", str(exc)) from exc
        self._connections[key] = (connection, channel)
        return channel

    async def _exchange(self, channel: AbstractChannel, name: str) -> AbstractExchange:
        if not name:
            return channel.default_exchange
        try:
            return await channel.get_exchange(name, ensure=True)
        except aiormq.exceptions.ChannelNotFoundEntity as exc:
            raise Refused("exchange_not_found", str(exc)) from exc

    async def _forget(self, destination: queues.RabbitMQ) -> None:
        key = destination.connection
        found = self._connections.pop(key, None)
        if found is not None and not found[0].is_closed:
            await found[0].close()

    async def close(self) -> None:
        for connection, _channel in self._connections.values():
            await connection.close()
        self._connections.clear()


def make() -> RabbitMQ:
    return RabbitMQ()
