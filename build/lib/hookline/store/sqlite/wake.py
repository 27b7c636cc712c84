"""Waking dispatchers in other processes the moment work is created (SQLite).

PostgreSQL has ``LISTEN``/``NOTIFY``; SQLite has nothing like it, so processes
sharing one database file wake each other with datagrams on Unix sockets in the
abstract namespace (Linux): no file to clean up, and no path length limit. Each
listening dispatcher registers its socket's name as an empty file in a directory
beside the database; a process that created work sends one byte to every name
registered there. A name whose socket is gone (its process died) refuses the
datagram and its file is removed. Elsewhere than on Linux nothing is sent and
dispatchers find new work by polling (``HOOKLINE_POLL_INTERVAL``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
import secrets
import socket
import sys
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("hookline.wake")

SUPPORTED = sys.platform.startswith("linux")
# Errors meaning the listener behind a name is gone for good.
_GONE = {errno.ECONNREFUSED, errno.ENOENT}


class Wakeups:
    """The wake-up channel of one database: listen for wake-ups, or send them to all listeners."""

    def __init__(self, registry: Path, database: Path) -> None:
        self.registry = registry
        digest = hashlib.sha256(str(database.resolve()).encode()).hexdigest()[:16]
        self._prefix = f"\0hookline-wake-{digest}-"
        self._sender: socket.socket | None = None
        self._names: list[str] = []
        self._seen: int | None = None  # the registry's mtime when ``_names`` was read
        self._listener: socket.socket | None = None
        self._entry: Path | None = None

    def listen(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` (on the running loop) whenever another process sends a wake-up."""
        if not SUPPORTED or self._listener is not None:
            return
        self.registry.parent.mkdir(mode=0o700, exist_ok=True)
        self.registry.mkdir(mode=0o700, exist_ok=True)
        name = f"{os.getpid()}-{secrets.token_hex(4)}"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.bind(self._prefix + name)
        self._listener = sock
        self._entry = self.registry / name
        self._entry.touch(mode=0o600)

        def readable() -> None:
            with contextlib.suppress(BlockingIOError):
                while sock.recv(64):  # one wake-up however many arrived
                    pass
            wake()

        asyncio.get_running_loop().add_reader(sock.fileno(), readable)

    def send(self) -> None:
        """Wake every registered listener (this process's own included); never raises."""
        if not SUPPORTED:
            return
        try:
            self._send()
        except OSError:
            log.warning("could not wake the other processes' dispatchers", exc_info=True)

    def _send(self) -> None:
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        try:
            mtime = self.registry.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime != self._seen:
            self._names = [p.name for p in self.registry.iterdir()]
            self._seen = mtime
        for name in self._names:
            try:
                self._sender.sendto(b"!", self._prefix + name)
            except BlockingIOError:
                pass  # its queue is full of wake-ups it has yet to read
            except OSError as exc:
                if exc.errno not in _GONE:
                    raise
                with contextlib.suppress(FileNotFoundError):
                    (self.registry / name).unlink()

    def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                asyncio.get_running_loop().remove_reader(self._listener.fileno())
            self._listener.close()
            self._listener = None
        if self._entry is not None:
            with contextlib.suppress(FileNotFoundError):
                self._entry.unlink()
            self._entry = None
        if self._sender is not None:
            self._sender.close()
            self._sender = None
