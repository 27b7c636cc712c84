"""Dispatcher processes of ``hookline serve``: started beside the API, restarted when they die.

Each is the worker role with no HTTP port (``server.run_dispatcher``), forked by the fork
server (``forkserver.py``) from modules it imported once, in the parent's settings (the
environment, plus the keys the parent generated and its command-line choices).
They coordinate through the database as any workers do: leases on PostgreSQL and
SQLite alike, so a dispatcher that dies gives its claims back when they expire.
A lost fork server takes its dispatchers with it; a fresh one replaces it and they
are started again. A dispatcher never outlives its parent: on Linux the kernel kills
the fork server and then the dispatchers when the parent dies, and anywhere each
exits when its stdin (a pipe whose only writer is the parent) closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import socket
import sys
from collections.abc import Mapping
from typing import Any

from hookline.forkserver import (
    Exited,
    Kill,
    Message,
    Spawn,
    SpawnFailed,
    Started,
    decode,
    die_with_parent,
    encode,
)

log = logging.getLogger("hookline.supervisor")

# Waits before restarting a dispatcher that died: doubling, reset once one runs this long.
RESTART_FIRST = 0.5
RESTART_MAX = 30.0
STEADY = 60.0


class ForkServerLost(Exception):
    """The fork server exited, and its dispatchers with it."""


class Child:
    """A dispatcher the fork server forked; ``exited`` gets its return code."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()


class ForkServer:
    """The supervisor's end of one fork server: the socket to it and its stdin's write end."""

    def __init__(self, pid: int, sock: socket.socket, lifeline: int) -> None:
        self.pid = pid
        self._sock = sock
        self._lifeline = lifeline
        self._proc: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._starting: dict[int, asyncio.Future[Child]] = {}
        self._children: dict[int, Child] = {}
        self._reading: asyncio.Task[None] | None = None
        self.lost = False

    @property
    def serving(self) -> bool:
        """Started and not lost."""
        return self._writer is not None and not self.lost

    @classmethod
    async def fresh(cls) -> ForkServer:
        """A fork server in a new interpreter that imports the dispatcher's modules itself."""
        ours, theirs = socket.socketpair()
        lifeline_r, lifeline_w = os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hookline.worker",
                str(theirs.fileno()),
                stdin=lifeline_r,
                pass_fds=(theirs.fileno(),),
                preexec_fn=functools.partial(die_with_parent, os.getpid()),
            )
        finally:
            theirs.close()
            os.close(lifeline_r)
        server = cls(proc.pid, ours, lifeline_w)
        server._proc = proc
        return server

    async def start(self) -> None:
        reader, self._writer = await asyncio.open_unix_connection(sock=self._sock)
        self._reading = asyncio.create_task(self._read(reader), name="hookline-forkserver")

    async def spawn(self, n: int, env: Mapping[str, str]) -> Child:
        """Fork dispatcher ``n`` in ``env`` (``OSError`` if it cannot be, ``ForkServerLost``)."""
        if self.lost or self._writer is None:
            raise ForkServerLost
        started: asyncio.Future[Child] = asyncio.get_running_loop().create_future()
        self._starting[n] = started
        self._order(Spawn(n, dict(env)))
        return await started

    def signal(self, child: Child, signum: int) -> None:
        """Send ``signum`` to ``child`` unless it has exited (the fork server checks)."""
        if not self.lost:
            self._order(Kill(child.pid, int(signum)))

    async def close(self) -> None:
        """Close the socket and the pipe (the fork server exits, killing what it still
        runs) and wait for it."""
        if self._writer is not None:
            self._writer.close()
        else:
            self._sock.close()
        os.close(self._lifeline)
        if self._reading is not None:
            await self._reading
        if self._proc is not None:
            await self._proc.wait()
        else:
            with contextlib.suppress(ChildProcessError):
                await asyncio.to_thread(os.waitpid, self.pid, 0)

    def _order(self, message: Message) -> None:
        assert self._writer is not None
        self._writer.write(encode(message))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            async for line in reader:
                match decode(line):
                    case Started(n, pid):
                        child = self._children[pid] = Child(pid)
                        self._starting.pop(n).set_result(child)
                    case SpawnFailed(n, error):
                        self._starting.pop(n).set_exception(OSError(error))
                    case Exited(pid, returncode):
                        if (gone := self._children.pop(pid, None)) is not None:
                            gone.exited.set_result(returncode)
                    case other:
                        raise ValueError(f"not an answer: {other!r}")
        except (ConnectionError, ValueError, KeyError) as exc:
            log.error("the fork server (pid %d) broke its protocol: %r", self.pid, exc)
        finally:
            self.lost = True
            waiting: list[asyncio.Future[Any]] = [*self._starting.values()]
            for future in [*waiting, *(c.exited for c in self._children.values())]:
                if not future.done():
                    future.set_exception(ForkServerLost())


class Supervisor:
    def __init__(
        self,
        count: int,
        env: Mapping[str, str],
        *,
        grace: float,
        forks: ForkServer | None = None,
    ) -> None:
        self.count = count
        self._env = dict(env)
        self._grace = grace
        self._forks = forks
        self._replacing = asyncio.Lock()
        self._running: dict[int, Child] = {}
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Keep ``count`` dispatchers running until ``stop``; then stop them and wait."""
        try:
            await asyncio.gather(*(self._keep(n) for n in range(self.count)))
        finally:
            await self._stop_all()
            if self._forks is not None:
                await self._forks.close()

    def stop(self) -> None:
        self._stopping.set()

    async def _fork_server(self) -> ForkServer:
        """The fork server, started now if there is none and again if it was lost."""
        async with self._replacing:
            forks = self._forks
            if forks is not None and forks.serving:
                return forks
            if forks is not None and forks.lost:
                log.error("the fork server (pid %d) exited; starting a fresh one", forks.pid)
                await forks.close()
                forks = None
            if forks is None:
                forks = await ForkServer.fresh()
            self._forks = forks
            await forks.start()
            return forks

    async def _keep(self, n: int) -> None:
        wait = RESTART_FIRST
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            started = loop.time()
            try:
                forks = await self._fork_server()
                child = await forks.spawn(n, self._env)
            except (OSError, ForkServerLost) as exc:
                log.error(
                    "dispatcher %d could not be started (%r); retrying in %.1f s", n + 1, exc, wait
                )
            else:
                self._running[n] = child
                log.info("dispatcher %d started (pid %d)", n + 1, child.pid)
                stopping: asyncio.Future[Any] = asyncio.ensure_future(self._stopping.wait())
                await asyncio.wait({stopping, child.exited}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if self._stopping.is_set():
                    return
                if child.exited.exception() is not None:
                    status = "with the fork server"
                else:
                    status = f"with status {child.exited.result()}"
                log.error(
                    "dispatcher %d (pid %d) exited %s; restarting in %.1f s",
                    n + 1,
                    child.pid,
                    status,
                    wait,
                )
            if loop.time() - started >= STEADY:
                wait = RESTART_FIRST
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait)
            wait = min(wait * 2, RESTART_MAX)

    async def _stop_all(self) -> None:
        forks = self._forks
        running = [c for c in self._running.values() if not c.exited.done()]
        if forks is None or not running:
            return
        for child in running:
            forks.signal(child, signal.SIGTERM)
        _, left = await asyncio.wait([c.exited for c in running], timeout=self._grace + 5)
        for child in running:
            if child.exited in left:
                forks.signal(child, signal.SIGKILL)
        if left:
            await asyncio.wait(left)


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
