"""``hookline serve`` runs the API here and its dispatchers in processes of their own.

The dispatchers are forked by the server's fork server, itself a fork of the server
made once it had imported its modules: the API wakes them across processes the
moment it accepts work (on SQLite through datagrams, on PostgreSQL through
``NOTIFY``), a dispatcher that dies is forked again, a fork server that dies is
replaced, and none of them outlives the server.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest
from support.polling import poll
from support.procfs import alive, children
from support.receiver import Receiver
from support.server import Hookline

pytestmark = pytest.mark.slow

# Far longer than any deadline below: a delivery that arrives in time was woken, not polled.
SLOW_POLL = {"HOOKLINE_POLL_INTERVAL": "60", "HOOKLINE_WORKERS": "2"}


def fork_server(server: Hookline) -> int:
    """The pid of the server's fork server: its one child."""
    assert server.proc is not None
    (forks,) = children(server.proc.pid)
    return forks


def dispatchers(server: Hookline) -> list[int]:
    """The pids of the server's dispatcher processes now running (its fork server's children)."""
    return children(fork_server(server))


def command(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


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


def test_dispatchers_are_forks_of_the_preloaded_server(server: Hookline) -> None:
    server.start()
    try:
        pids = poll(lambda: dispatchers(server), lambda found: len(found) == 2, what="dispatchers")
        assert server.proc is not None
        # Forked, never exec'd: each runs the server's own command line.
        for pid in [fork_server(server), *pids]:
            assert command(pid) == command(server.proc.pid)
    finally:
        assert server.terminate() == 0, server.output()


def test_a_dispatcher_that_dies_is_started_again(server: Hookline, receiver: Receiver) -> None:
    server.start()
    try:
        first = poll(lambda: started(server), lambda pids: len(pids) == 2, what="dispatchers")
        forks = fork_server(server)
        os.kill(first[0], signal.SIGKILL)
        again = poll(
            lambda: started(server), lambda pids: len(pids) == 3, what="a dispatcher restarted"
        )
        assert again[2] not in first
        assert "exited with status -9; restarting" in server.output()
        poll(lambda: dispatchers(server), lambda pids: len(pids) == 2, what="two running")
        assert fork_server(server) == forks  # forked again from the same preloaded process
        assert command(again[2]) == command(forks)
        with server.api() as api:
            ws = api.workspace()
            endpoint = receiver.endpoint()
            api.webhook(ws, endpoint.url, events=["*"])
            api.send(ws, "after.restart", {})
            endpoint.wait(1)
    finally:
        assert server.terminate() == 0, server.output()


def test_a_lost_fork_server_is_replaced_and_its_dispatchers_started_again(
    server: Hookline, receiver: Receiver
) -> None:
    server.start()
    try:
        first = poll(lambda: dispatchers(server), lambda found: len(found) == 2, what="dispatchers")
        lost = fork_server(server)
        os.kill(lost, signal.SIGKILL)
        poll(
            lambda: [pid for pid in first if alive(pid)],
            lambda left: not left,
            what="its dispatchers gone with the fork server",
        )
        again = poll(
            lambda: dispatchers(server) if fork_server(server) != lost else [],
            lambda found: len(found) == 2,
            what="two dispatchers of a fresh fork server",
        )
        assert not set(again) & set(first)
        assert f"the fork server (pid {lost}) exited; starting a fresh one" in server.output()
        assert b"hookline.worker" in command(fork_server(server))
        with server.api() as api:
            ws = api.workspace()
            endpoint = receiver.endpoint()
            api.webhook(ws, endpoint.url, events=["*"])
            api.send(ws, "after.replacement", {})
            endpoint.wait(1)
    finally:
        assert server.terminate() == 0, server.output()


def test_no_dispatcher_outlives_the_server(server: Hookline) -> None:
    server.start()
    found = poll(lambda: dispatchers(server), lambda found: len(found) == 2, what="dispatchers")
    pids = [fork_server(server), *found]
    server.kill()
    poll(
        lambda: [pid for pid in pids if alive(pid)],
        lambda left: not left,
        what="dispatchers gone after the server was killed",
    )


def test_a_graceful_stop_stops_the_dispatchers_too(server: Hookline) -> None:
    server.start()
    found = poll(lambda: dispatchers(server), lambda found: len(found) == 2, what="dispatchers")
    pids = [fork_server(server), *found]
    assert server.terminate() == 0, server.output()
    assert not [pid for pid in pids if alive(pid)]
