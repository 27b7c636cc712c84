"""The fork server is forked only from a process without threads: a fork copies every lock
as it stands, and another thread may hold one mid-use."""

from __future__ import annotations

import threading

from hookline.forkserver import fork_preloaded


def test_a_process_running_a_thread_does_not_fork_the_fork_server() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert fork_preloaded() is None
    finally:
        release.set()
        thread.join()
