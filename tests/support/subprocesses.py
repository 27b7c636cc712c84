"""Stopping a process a test started, whose output goes to a log file."""

from __future__ import annotations

import subprocess
from typing import IO


def stop(proc: subprocess.Popen[bytes] | None, log: IO[bytes] | None, *, timeout: float) -> None:
    """Ask ``proc`` to stop (SIGTERM), kill it if it has not within ``timeout`` seconds, then
    close its ``log``; either may be None (not started), and a stopped process is left as it is."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if log is not None:
        log.close()
