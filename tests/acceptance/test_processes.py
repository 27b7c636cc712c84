"""``hookline serve`` runs the API here and its dispatchers in processes of their own.

The dispatchers are the server's children: the API wakes them across processes
the moment it accepts work (on SQLite through datagrams, on PostgreSQL through
``NOTIFY``), a dispatcher that dies is started again, and none outlives the server.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest
from support.polling import poll
from support.receiver import Receiver
from support.server import Hookline

pytestmark = pytest.mark.slow

# Far longer than any deadline below: a delivery that arrives in time was woken, not polled.
SLOW_POLL = {"HOOKLINE_POLL_INTERVAL": "60", "HOOKLINE_WORKERS": "2"}


def dispatchers(server: Hookline) -> list[int]:
    """The pids of the server's dispatcher processes now running."""
    assert server.proc is not None
    children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text()
    return [int(pid) for pid in children.split()]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def started(server: Hookline) -> list[int]:
    """The pids the server's log says it started dispatchers as, in order."""
    return [int(p) for p in re.findall(r"dispatcher \d+ started \(pid (\d+)\)", server.output())]


@pytest.fixture
def server(tmp_path: Path, database_url: str | None) -> Hookline:
    return Hookline(tmp_path / "hookline", env=SLOW_POLL, database_url=database_url)


def test_the_api_wakes_dispatchers_in_other_processes_at_once(
    server: Hookline, receiver: Receiver
) -> None:
    server.start()
    try:
        poll(lambda: started(server), lambda pids: len(pids) == 2, what="two dispatchers")
        with server.api() as api:
            ws = api.workspace()
            endpoint = receiver.endpoint()
            api.webhook(ws, endpoint.url, events=["*"])
            # One after another, each once the last is logged, so the dispatchers are idle
            # (waiting out the 60 s poll) when the next event is accepted.
            for n in range(3):
                event = api.send(ws, "wake.test", {"n": n})
                (delivery,) = api.deliveries_of(event["id"])
                assert api.settled(delivery["id"], timeout=10)["status"] == "succeeded"
            assert len(endpoint.requests) == 3
    finally:
        assert server.terminate() == 0, server.output()


def test_a_dispatcher_that_dies_is_started_again(server: Hookline, receiver: Receiver) -> None:
    server.start()
    try:
        first = poll(lambda: started(server), lambda pids: len(pids) == 2, what="dispatchers")
        os.kill(first[0], signal.SIGKILL)
        again = poll(
            lambda: started(server), lambda pids: len(pids) == 3, what="a dispatcher restarted"
        )
        assert again[2] not in first
        assert "exited with status -9; restarting" in server.output()
        poll(lambda: dispatchers(server), lambda pids: len(pids) == 2, what="two running")
        with server.api() as api:
            ws = api.workspace()
            endpoint = receiver.endpoint()
            api.webhook(ws, endpoint.url, events=["*"])
            api.send(ws, "after.restart", {})
            endpoint.wait(1)
    finally:
        assert server.terminate() == 0, server.output()


def test_no_dispatcher_outlives_the_server(server: Hookline) -> None:
    server.start()
    pids = poll(lambda: dispatchers(server), lambda found: len(found) == 2, what="dispatchers")
    server.kill()
    poll(
        lambda: [pid for pid in pids if alive(pid)],
        lambda left: not left,
        what="dispatchers gone after the server was killed",
    )


def test_a_graceful_stop_stops_the_dispatchers_too(server: Hookline) -> None:
    server.start()
    pids = poll(lambda: dispatchers(server), lambda found: len(found) == 2, what="dispatchers")
    assert server.terminate() == 0, server.output()
    assert not [pid for pid in pids if alive(pid)]
