"""The message brokers on this machine that the destination tests publish to.

A test that needs one and finds nothing listening is skipped with the reason, unless
``HOOKLINE_REQUIRE_BROKERS=1`` (as CI sets, after starting them): then it fails.
"""

from __future__ import annotations

from .net import listening
from .requirements import unavailable

RABBITMQ = ("RabbitMQ", 5672)
NATS = ("NATS", 4222)
REDIS = ("Redis", 6379)


def require(broker: tuple[str, int]) -> None:
    name, port = broker
    if not listening("127.0.0.1", port, timeout=2):
        unavailable(f"{name} is not listening on 127.0.0.1:{port}", "HOOKLINE_REQUIRE_BROKERS")
