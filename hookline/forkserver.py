"""The fork server: the process that forks ``hookline serve``'s dispatchers, so that they
share the modules it imported (copy-on-write), as gunicorn's ``--preload`` does.

At start, before its event loop and before any thread, ``hookline serve`` imports what
its dispatchers run, takes those objects out of the cyclic garbage
collector's sight (``gc.freeze``: it never writes to them, so their pages stay shared)
and forks this server (``fork_preloaded``). The server stays single-threaded and idle:
told to, it forks a dispatcher (the function it was handed, in the environment it is
sent), signals one, and reports each one's exit. A dispatcher thus starts without importing anything
and pays in memory only for the pages it writes. Should the server itself be lost, the
supervisor starts a fresh one, an interpreter that imports the dispatcher's modules
itself (``python -m hookline.worker FD``).

It knows nothing of what a dispatcher is: the caller hands it the function a forked child
runs (``server.run_dispatcher``). It speaks JSON lines on a socket pair, each a message below (``encode``/``decode``): it is
told ``Spawn`` and ``Kill``; it answers ``Started`` (or ``SpawnFailed``) and ``Exited``. Nothing outlives ``hookline serve``: the server and each
dispatcher ask Linux to kill them when their parent dies; the server kills its
dispatchers when the socket closes; and every one of them has as stdin a pipe whose
only writer is ``hookline serve`` (``supervisor.watch_parent``).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import selectors
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import NoReturn

# What a forked dispatcher runs, in the environment it was sent; it returns when it stops.
Child = Callable[[], object]


@dataclass(frozen=True, slots=True)
class Spawn:
    """Fork dispatcher ``n`` in the environment ``env``."""

    n: int
    env: dict[str, str]


@dataclass(frozen=True, slots=True)
class Kill:
    """Send ``signum`` to the dispatcher ``pid``, unless it has already exited."""

    pid: int
    signum: int


@dataclass(frozen=True, slots=True)
class Started:
    n: int
    pid: int


@dataclass(frozen=True, slots=True)
class SpawnFailed:
    n: int
    error: str


@dataclass(frozen=True, slots=True)
class Exited:
    """A dispatcher ended: its exit status, or minus the signal that killed it."""

    pid: int
    returncode: int


Message = Spawn | Kill | Started | SpawnFailed | Exited
_KINDS: dict[str, type[Message]] = {
    kind.__name__: kind for kind in (Spawn, Kill, Started, SpawnFailed, Exited)
}


def encode(message: Message) -> bytes:
    return json.dumps({"kind": type(message).__name__, **asdict(message)}).encode() + b"\n"


def decode(line: bytes) -> Message:
    """The message a line holds (``ValueError`` when it holds none)."""
    try:
        fields = json.loads(line)
        return _KINDS[fields.pop("kind")](**fields)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a fork server message: {line!r}") from exc


def fork_preloaded(child: Child) -> tuple[int, socket.socket, int] | None:
    """Freeze what this process imported and fork from it the fork server of ``child``: its
    pid, the socket to it and the write end of its stdin. None when this process already
    runs a thread (a fork would copy its locks mid-use)."""
    if threading.active_count() > 1:
        return None
    preload()
    ours, theirs = socket.socketpair()
    lifeline_r, lifeline_w = os.pipe()
    parent = os.getpid()
    _flush()
    pid = os.fork()
    if pid == 0:
        try:
            ours.close()
            os.close(lifeline_w)
            os.dup2(lifeline_r, 0)
            os.close(lifeline_r)
            die_with_parent(parent)
            serve_forks(theirs, child)
        finally:
            os._exit(1)
    theirs.close()
    os.close(lifeline_r)
    return pid, ours, lifeline_w


def preload() -> None:
    """Move every object allocated so far out of the collector's generations."""
    gc.collect()
    gc.freeze()


def die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when its parent (``parent``) dies."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def serve_forks(sock: socket.socket, child: Child) -> NoReturn:
    """The fork server's loop: fork (each running ``child``), signal and reap dispatchers as
    ``sock`` says, until it closes; then kill what is left and exit."""
    for sig in (signal.SIGINT, signal.SIGTERM):  # hookline serve stops the dispatchers
        signal.signal(sig, signal.SIG_IGN)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    children: set[int] = set()
    closing = (sock, sel, wake_r, wake_w)
    pending = b""

    def reap() -> None:
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            children.discard(pid)
            sock.sendall(encode(Exited(pid, os.waitstatus_to_exitcode(status))))

    while True:
        for key, _ in sel.select():
            if key.fileobj == wake_r:
                while _drained(wake_r):
                    pass
                reap()
                continue
            data = sock.recv(65536)
            if not data:
                for pid in children:
                    os.kill(pid, signal.SIGKILL)
                os._exit(0)
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                match decode(line):
                    case Spawn(n, env):
                        _spawn(sock, n, env, child, children, closing)
                    case Kill(pid, signum) if pid in children:  # never one reaped: reusable pid
                        os.kill(pid, signum)


def _spawn(
    sock: socket.socket,
    n: int,
    env: dict[str, str],
    child: Child,
    children: set[int],
    closing: tuple[socket.socket, selectors.BaseSelector, int, int],
) -> None:
    parent = os.getpid()
    _flush()
    try:
        pid = os.fork()
    except OSError as exc:
        sock.sendall(encode(SpawnFailed(n, str(exc))))
        return
    if pid == 0:
        _dispatcher(env, child, parent, closing)
    children.add(pid)
    sock.sendall(encode(Started(n, pid)))


def _dispatcher(
    env: dict[str, str],
    child: Child,
    parent: int,
    closing: tuple[socket.socket, selectors.BaseSelector, int, int],
) -> NoReturn:
    """In a forked dispatcher: shed the fork server's part, then run ``child``."""
    code = 1
    try:
        sock, sel, wake_r, wake_w = closing
        sel.close()
        sock.close()
        signal.set_wakeup_fd(-1)
        os.close(wake_r)
        os.close(wake_w)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        die_with_parent(parent)
        os.environ.clear()
        os.environ.update(env)
        child()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    except BaseException:
        sys.excepthook(*sys.exc_info())
    finally:
        logging.shutdown()
        _flush()
        os._exit(code)


def _drained(fd: int) -> bool:
    try:
        return bool(os.read(fd, 512))
    except BlockingIOError:
        return False


def _flush() -> None:
    """Write out what a forked copy of the buffers would otherwise print twice."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
