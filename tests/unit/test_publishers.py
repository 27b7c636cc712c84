"""The broker-host guard of destinations other than HTTP: which address a publisher may
connect to. A name's answers come from a stand-in resolver: no DNS server runs here."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import pytest

from hookline.dispatch.publishers import Guard, Refused
from hookline.domain import queues

ALLOWED = (ipaddress.ip_network("127.0.0.1/32"),)


def answering(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> None:
    async def getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)


async def test_the_first_allowed_address_of_a_name(monkeypatch: pytest.MonkeyPatch) -> None:
    answering(monkeypatch, "10.0.0.12", "127.0.0.1")
    guard = Guard(open_network=False, allowed=ALLOWED)
    assert await guard.address("broker.internal", 5672) == "127.0.0.1"


async def test_by_name_every_address_must_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    answering(monkeypatch, "127.0.0.1", "10.0.0.12")
    guard = Guard(open_network=False, allowed=ALLOWED)
    with pytest.raises(Refused) as refused:
        await guard.address("broker.internal", 5671, every=True)
    assert refused.value.error == "blocked_destination"
    answering(monkeypatch, "127.0.0.1")
    assert await guard.address("broker.internal", 5671, every=True) == "127.0.0.1"


async def test_a_blocked_literal_and_an_open_network() -> None:
    with pytest.raises(Refused):
        await Guard(open_network=False, allowed=()).address("127.0.0.1", 6379)
    assert await Guard(open_network=True, allowed=()).address("10.1.2.3", 6379) == "10.1.2.3"


async def test_a_failed_publish_logs_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    from hookline.dispatch.publishers import Router
    from hookline.dispatch.transport import OutboundRequest

    class Refusing:
        async def publish(self, request: OutboundRequest, guard: Guard) -> Any:
            raise Refused("connect_error", "login guest:pw-9c2 refused by broker")

        async def close(self) -> None:
            return None

    router = Router(http=None, guard=Guard(open_network=True, allowed=()))  # type: ignore[arg-type]
    router._publishers["redis"] = Refusing()
    destination = queues.load(
        {"type": "redis", "url": "redis://r/0", "stream": "s", "password": "pw-9c2"}
    )
    request = OutboundRequest(
        url="redis://r/0", headers={}, body=b"{}", timeout=1, destination=destination
    )
    with caplog.at_level("INFO", logger="hookline.dispatch"):
        result = await router.send(request)
    assert result.error == "connect_error"
    assert "pw-9c2" not in caplog.text and "login guest:*** refused" in caplog.text


def test_each_kind_of_destination_is_stored_as_it_was_given() -> None:
    for given in (
        {"type": "rabbitmq", "url": "amqp://r:5672", "exchange": "", "routingKey": "k"},
        {"type": "nats", "url": "nats://n:4222", "subject": "a.b", "username": "u"},
        {"type": "redis", "url": "redis://r:6379/0", "stream": "s", "maxLen": 5, "password": "p"},
        {"type": "sqs", "queueUrl": "https://q/1", "region": "eu-west-1"},
        {"type": "sns", "topicArn": "arn:aws:sns:eu-west-1:123456789012:t", "region": "eu-west-1"},
        {
            "type": "eventbridge",
            "eventBusName": "bus",
            "region": "eu-west-1",
            "source": "shop",
            "accessKeyId": "AKIA",
            "secretAccessKey": "s3cr3t-key",
        },
    ):
        destination = queues.load(given)
        assert destination.to_json() == given
        assert destination.kind == given["type"]
        secrets = {"password", "secretAccessKey"}
        assert destination.public() == {k: v for k, v in given.items() if k not in secrets}
        assert "s3cr3t-key" not in repr(destination)
