"""The clients a publisher keeps: one per key, connected once however many attempts ask at
the same time, connected again when the kept one is dead or was forgotten, all closed."""

from __future__ import annotations

import asyncio

import pytest

from hookline.dispatch.publishers.clients import Clients


class Client:
    def __init__(self, name: str) -> None:
        self.name = name
        self.alive = True
        self.closed = False


class Broker:
    """Hands out clients named after their key and the number of the connection."""

    def __init__(self) -> None:
        self.connections = 0
        self.entered = asyncio.Event()  # a connection is being made
        self.gate = asyncio.Event()  # connections complete once it is set
        self.gate.set()

    def connecting(self, key: str) -> asyncio.Future[Client]:
        async def connect() -> Client:
            self.connections += 1
            number = self.connections
            self.entered.set()
            await self.gate.wait()
            return Client(f"{key}#{number}")

        return asyncio.ensure_future(connect())


async def close(client: Client) -> None:
    client.closed = True


def clients() -> Clients[str, Client]:
    return Clients(close=close, alive=lambda client: client.alive)


async def test_concurrent_attempts_to_one_key_share_one_connection() -> None:
    broker, kept = Broker(), clients()
    broker.gate.clear()
    waiting = [
        asyncio.ensure_future(kept.get("a", lambda: broker.connecting("a"))) for _ in range(5)
    ]
    await broker.entered.wait()  # the first connects; the others wait for it
    broker.gate.set()
    got = await asyncio.gather(*waiting)
    assert {c.name for c in got} == {"a#1"}
    assert (await kept.get("b", lambda: broker.connecting("b"))).name == "b#2"
    assert broker.connections == 2


async def test_a_dead_client_is_closed_and_connected_again() -> None:
    broker, kept = Broker(), clients()
    first = await kept.get("a", lambda: broker.connecting("a"))
    first.alive = False
    second = await kept.get("a", lambda: broker.connecting("a"))
    assert (second.name, first.closed, second.closed) == ("a#2", True, False)


async def test_a_forgotten_client_is_closed_and_the_next_attempt_connects() -> None:
    broker, kept = Broker(), clients()
    first = await kept.get("a", lambda: broker.connecting("a"))
    await kept.forget("a")
    await kept.forget("a")  # nothing kept: nothing to do
    assert first.closed
    assert (await kept.get("a", lambda: broker.connecting("a"))).name == "a#2"


async def test_a_failed_connection_keeps_nothing() -> None:
    broker, kept = Broker(), clients()

    async def refused() -> Client:
        raise ConnectionRefusedError("no broker")

    with pytest.raises(ConnectionRefusedError):
        await kept.get("a", refused)
    assert (await kept.get("a", lambda: broker.connecting("a"))).name == "a#1"


async def test_close_closes_every_client() -> None:
    broker, kept = Broker(), clients()
    got = [await kept.get(k, lambda k=k: broker.connecting(k)) for k in ("a", "b")]
    await kept.close()
    assert all(c.closed for c in got)
    assert (await kept.get("a", lambda: broker.connecting("a"))).name == "a#3"
