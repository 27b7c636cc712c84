"""The fork server is forked only from a process without threads: a fork copies every lock
as it stands, and another thread may hold one mid-use. Its messages travel as JSON lines
and arrive as the values that were sent."""

from __future__ import annotations

import threading

import pytest

from hookline.forkserver import (
    Exited,
    Kill,
    Message,
    Spawn,
    SpawnFailed,
    Started,
    decode,
    encode,
    fork_preloaded,
)


def test_a_process_running_a_thread_does_not_fork_the_fork_server() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert fork_preloaded(release.set) is None
    finally:
        release.set()
        thread.join()


@pytest.mark.parametrize(
    "message",
    [
        Spawn(1, {"HOOKLINE_DATABASE_URL": "sqlite:///x.db"}),
        Kill(4242, 15),
        Started(1, 4242),
        SpawnFailed(0, "[Errno 11] Resource temporarily unavailable"),
        Exited(4242, -9),
    ],
)
def test_each_message_arrives_as_it_was_sent(message: Message) -> None:
    line = encode(message)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode(line) == message


@pytest.mark.parametrize(
    "line", [b'{"kind": "Reboot"}', b'{"kind": "Kill", "pid": 1}', b"[1, 2]", b"not json"]
)
def test_a_line_that_is_no_message_is_refused(line: bytes) -> None:
    with pytest.raises(ValueError, match="not a fork server message"):
        decode(line)
