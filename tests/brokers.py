"""The message brokers on this machine that the destination tests publish to.

A test that needs one and finds nothing listening is skipped with the reason, unless
``HOOKLINE_REQUIRE_BROKERS=1`` (as CI sets, after starting them): then it fails.
"""

from __future__ import annotations

import os
import socket

import pytest

RABBITMQ = ("RabbitMQ", 5672)
NATS = ("NATS", 4222)
REDIS = ("Redis", 6379)


def require(broker: tuple[str, int]) -> None:
    name, port = broker
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        reason = f"{name} is not listening on 127.0.0.1:{port}"
        if os.environ.get("HOOKLINE_REQUIRE_BROKERS") == "1":
            pytest.fail(f"{reason} (HOOKLINE_REQUIRE_BROKERS=1)")
        pytest.skip(reason)
