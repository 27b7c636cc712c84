"""``hookline listen``: the development receiver verifies and prints what Hookline sends."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.net import free_port, listening
from support.polling import poll
from support.server import Api

pytestmark = [pytest.mark.slow, pytest.mark.store_independent]

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # base64 of 24 bytes


class Listener:
    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/hooks"
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    port = free_port()
    listener = Listener(port, tmp_path / "listen.log")
    command = [sys.executable, "-m", "hookline", "listen", "--port", str(port)]
    with listener.log.open("wb") as log:
        proc = subprocess.Popen(
            [*command, "--secret", SECRET],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=tmp_path,
        )
        try:
            poll(
                lambda: listening("127.0.0.1", port),
                bool,
                timeout=20,
                what="hookline listen accepting",
            )
            yield listener
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_listen_verifies_and_prints_a_delivery(api: Api, ws: str, listener: Listener) -> None:
    api.webhook(ws, listener.url, secret=SECRET)

    event = api.send(ws, "lesson.viewed", {"lesson": "l-77"})

    dlv = api.settled(api.deliveries_of(event["id"])[0]["id"])
    assert dlv["status"] == "succeeded", dlv
    out = poll(listener.output, lambda text: "l-77" in text, what="listen printed the event")
    assert "signature OK" in out
    assert "lesson.viewed" in out
    assert event["id"] in out


def test_listen_rejects_a_delivery_signed_with_another_secret(
    api: Api, ws: str, listener: Listener
) -> None:
    api.webhook(ws, listener.url, secret="whsec_" + "A" * 32, retryPolicy={"schedule": [0]})

    event = api.send(ws, "lesson.viewed", {"lesson": "l-78"})

    dlv = api.settled(api.deliveries_of(event["id"])[0]["id"])
    assert dlv["status"] == "failed"
    assert dlv["lastStatusCode"] == 401
    out = poll(listener.output, lambda text: "REJECTED" in text, what="listen rejected it")
    (rejected,) = [line for line in out.splitlines() if "REJECTED" in line]
    assert re.match(r"\d\d:\d\d:\d\d\.\d{3} REJECTED POST /", rejected), rejected
    assert "l-78" not in out
