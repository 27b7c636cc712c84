"""One SQLite connection living on its own thread, and write transactions on it.

Writes are group-committed: the writes asked for while the thread is busy (or in the
same turn of the event loop) run next, together, in one ``BEGIN IMMEDIATE``
transaction, each in a savepoint of its own, so one write's error undoes only that
write and reaches only its caller. One commit and one trip to the thread then serve
many callers (concurrent ingest requests, a claim and a record), instead of one each.

A failure of the storage itself (a full disk, an I/O error: ``errors.py``) fails the
whole transaction, whichever write or the commit met it, and reaches every caller as
Hookline's ``StorageFull`` or ``StorageUnavailable``, never as SQLite's own error. The
writer tells its ``SpaceWatch`` of every transaction that ran out of space and of every
one that wrote something.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from hookline.errors import StorageFull, StorageUnavailable
from hookline.store.space import SpaceWatch
from hookline.store.sqlite.errors import storage_error

R = TypeVar("R")
# The most writes one transaction takes; the rest wait for the next.
GROUP_MAX = 256
_Write = tuple[Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]"]
# Each write's outcome (done, its result or error) and whether the transaction changed rows.
_Committed = tuple[list[tuple[bool, Any]], bool]


class ConnectionThread:
    """One SQLite connection (WAL, foreign keys on) used only from its own thread.

    With ``lock`` (a file), each write transaction first takes an exclusive ``flock`` on it.
    Processes writing one database then queue in the kernel and the next is woken the
    moment the last commits; SQLite's own busy handler would instead retry after sleeps of
    up to 100 ms, which under contention becomes the latency of every write.
    """

    def __init__(
        self, path: Path, name: str, *, lock: Path | None = None, space: SpaceWatch | None = None
    ) -> None:
        self._path = path
        self._space = space
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._conn: sqlite3.Connection | None = None
        self._lock_path = lock
        self._lock_fd: int | None = None
        self._queued: list[_Write] = []
        self._writing = False

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=10000")
            _enable_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._conn = conn
        return self._conn

    async def run(self, fn: Callable[[sqlite3.Connection], R]) -> R:
        """Run ``fn`` on the connection's thread, in autocommit mode."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, lambda: fn(self._connection()))
        except sqlite3.Error as exc:
            fault = self._fault(exc)
            if fault is None:
                raise
            raise fault from exc

    async def write(self, fn: Callable[[sqlite3.Connection], R]) -> R:
        """Run ``fn`` inside a write transaction (serialized across processes), with the
        writes queued beside it; its effects are committed when this returns."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[R] = loop.create_future()
        self._queued.append((fn, done))
        if not self._writing:
            self._writing = True
            loop.call_soon(self._next_group, loop)
        return await done

    def _next_group(self, loop: asyncio.AbstractEventLoop) -> None:
        group, self._queued = self._queued[:GROUP_MAX], self._queued[GROUP_MAX:]
        if not group:
            self._writing = False
            return
        ran = loop.run_in_executor(self._pool, self._commit, [fn for fn, _ in group])

        def finished(ran: asyncio.Future[_Committed]) -> None:
            try:
                outcomes, changed = ran.result()
            except BaseException as exc:  # the transaction itself failed: every write did
                outcomes = [(False, self._fault(exc) or exc)] * len(group)
            else:
                if changed and self._space is not None:
                    self._space.wrote()
            for (_, done), (ok, value) in zip(group, outcomes, strict=True):
                if done.done():  # its caller was cancelled
                    continue
                if ok:
                    done.set_result(value)
                else:
                    done.set_exception(value)
            self._next_group(loop)

        ran.add_done_callback(finished)

    def _commit(self, fns: list[Callable[[sqlite3.Connection], Any]]) -> _Committed:
        """On the thread: run ``fns`` in one transaction, each in its own savepoint.

        A storage failure ends the whole transaction: SQLite may already have rolled it
        back (it does so on a full disk or an I/O error), so no savepoint is left to undo.
        """
        conn = self._connection()
        outcomes: list[tuple[bool, Any]] = []
        with self._locked():
            before = conn.total_changes
            conn.execute("BEGIN IMMEDIATE")
            try:
                for fn in fns:
                    conn.execute("SAVEPOINT write")
                    try:
                        outcomes.append((True, fn(conn)))
                    except Exception as exc:
                        if storage_error(exc, self._path) is not None:
                            raise
                        conn.execute("ROLLBACK TO write")
                        outcomes.append((False, exc))
                    conn.execute("RELEASE write")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
        return outcomes, conn.total_changes > before

    def _fault(self, exc: BaseException) -> StorageUnavailable | None:
        """The Hookline error a caller gets for ``exc`` if it is a storage failure (a full
        disk is noted by the ``SpaceWatch``); None for any other error."""
        fault = storage_error(exc, self._path)
        if isinstance(fault, StorageFull) and self._space is not None:
            self._space.failed(fault)
        return fault

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._lock_path is None:
            yield
            return
        if self._lock_fd is None:
            self._lock_path.parent.mkdir(mode=0o700, exist_ok=True)
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    async def close(self) -> None:
        def shut(conn: sqlite3.Connection) -> None:
            conn.close()

        if self._conn is not None:
            await self.run(shut)
            self._conn = None
        self._pool.shutdown(wait=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def make_private(path: Path) -> None:
    """Create the database file readable by its owner only (0600), in a 0700 directory when
    the directory is new. SQLite gives its -wal and -shm files the database file's mode."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            file.chmod(0o600)


def _enable_wal(conn: sqlite3.Connection, attempts: int = 50) -> None:
    """Switch to WAL. On a fresh file several processes opening at once may collide; SQLite
    then reports "database is locked" at once, without its busy handler: try again."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.01 * (1 + attempt % 5))
