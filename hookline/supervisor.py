"""Dispatcher processes of ``hookline serve``: started beside the API, restarted when they die.

Each is the worker role with no HTTP port (``python -m hookline.worker``, which imports
what a dispatcher needs and not the command line) with the parent's settings (the
environment, plus the keys the parent generated and its command-line choices).
They coordinate through the database as any workers do: leases on PostgreSQL and
SQLite alike, so a dispatcher that dies gives its claims back when they expire.
A dispatcher never outlives its parent: on Linux the kernel kills it when the
parent dies, and elsewhere it exits when its stdin (a pipe from the parent) closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping

log = logging.getLogger("hookline.supervisor")

# Waits before restarting a dispatcher that died: doubling, reset once one runs this long.
RESTART_FIRST = 0.5
RESTART_MAX = 30.0
STEADY = 60.0


class Supervisor:
    def __init__(self, count: int, env: Mapping[str, str], *, grace: float) -> None:
        self.count = count
        self._env = dict(env)
        self._grace = grace
        self._procs: dict[int, asyncio.subprocess.Process] = {}
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Keep ``count`` dispatchers running until ``stop``; then stop them and wait."""
        try:
            await asyncio.gather(*(self._keep(n) for n in range(self.count)))
        finally:
            await self._stop_all()

    def stop(self) -> None:
        self._stopping.set()

    async def _keep(self, n: int) -> None:
        wait = RESTART_FIRST
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            started = loop.time()
            proc = await self._spawn()
            self._procs[n] = proc
            log.info("dispatcher %d started (pid %d)", n + 1, proc.pid)
            stopping = asyncio.ensure_future(self._stopping.wait())
            exited = asyncio.ensure_future(proc.wait())
            await asyncio.wait({stopping, exited}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if self._stopping.is_set():
                exited.cancel()
                return
            log.error(
                "dispatcher %d (pid %d) exited with status %s; restarting in %.1f s",
                n + 1,
                proc.pid,
                proc.returncode,
                wait,
            )
            if loop.time() - started >= STEADY:
                wait = RESTART_FIRST
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait)
            wait = min(wait * 2, RESTART_MAX)

    async def _spawn(self) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hookline.worker",
            env=self._env,
            stdin=asyncio.subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )

    async def _stop_all(self) -> None:
        running = [p for p in self._procs.values() if p.returncode is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        if not running:
            return
        done = asyncio.gather(*(p.wait() for p in running))
        try:
            await asyncio.wait_for(done, self._grace + 5)
        except TimeoutError:
            for proc in running:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            await asyncio.gather(*(p.wait() for p in running))


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to kill it when its parent dies."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def watch_parent() -> None:
    """In a supervised dispatcher: exit at once when the parent's pipe (our stdin) closes."""
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            data = os.read(fd, 512)
        except BlockingIOError:
            return
        if not data:
            os._exit(0)

    loop.add_reader(fd, readable)
