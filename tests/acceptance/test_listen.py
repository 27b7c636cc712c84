"""``hookline listen``: the development receiver verifies and prints what Hookline sends."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
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


@contextlib.contextmanager
def running_listener(tmp_path: Path, *args: str) -> Iterator[Listener]:
    port = free_port()
    listener = Listener(port, tmp_path / "listen.log")
    command = [sys.executable, "-m", "hookline", "listen", "--port", str(port), *args]
    with listener.log.open("wb") as log:
        proc = subprocess.Popen(
            command,
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


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    with running_listener(tmp_path, "--secret", SECRET) as listener:
        yield listener


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


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, "OK"), (202, "Accepted"), (410, "Gone"), (500, "Internal Server Error"), (204, "")],
)
def test_listen_answers_the_status_asked_with_a_body_that_says_it(
    tmp_path: Path, status: int, body: str
) -> None:
    with running_listener(tmp_path, "--status", str(status)) as listener:
        answer = httpx.post(listener.url, json={"type": "ping"}, timeout=10)
    assert (answer.status_code, answer.text) == (status, body)
    assert f"answering {status}" in listener.output()
