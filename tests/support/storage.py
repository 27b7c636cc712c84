"""Storage that runs out of space, for real, and gets it back.

``SmallDisk`` is a tmpfs of a few MiB mounted on a new directory: an SQLite database put
there meets a full filesystem exactly as on a full disk (SQLite's ``SQLITE_FULL``, "database
or disk is full"). ``fill`` writes a ballast file until the filesystem answers ENOSPC,
``release`` gives some of it back, ``free`` removes it. Mounting needs root (CI runs as
root); elsewhere ``SmallDisk.mount`` raises ``Unavailable`` and the tests skip, saying why.

``FullDisk`` is an SQLite database URL on such a disk, filled and freed from async tests.

``PostgresFull`` makes a PostgreSQL database's writes fail as PostgreSQL's own do when a
file cannot grow: triggers on every table raise SQLSTATE 53100 (``disk_full``), which
asyncpg raises as ``DiskFullError``; or another condition of the class "insufficient
resources" (``out_of_memory``, ``too_many_connections``). ``free`` drops them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

BALLAST_CHUNK = 64 * 1024


class Unavailable(Exception):
    """This machine cannot mount a tmpfs for the test (not root, or no mount(2) allowed)."""


class SmallDisk:
    def __init__(self, size_mib: int) -> None:
        self.size_mib = size_mib
        self.path = Path(tempfile.mkdtemp(prefix="hookline-disk-"))
        self._ballast = self.path / "ballast"
        self._mounted = False

    def mount(self) -> SmallDisk:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.size_mib}m,mode=0700", "tmpfs", self.path],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            self.path.rmdir()
            reason = done.stderr.decode(errors="replace").strip()
            raise Unavailable(f"cannot mount a {self.size_mib} MiB tmpfs: {reason}")
        self._mounted = True
        return self

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.path).free

    def fill(self) -> None:
        """Write the ballast until no byte is left."""
        chunk = b"\0" * BALLAST_CHUNK
        fd = os.open(self._ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    if len(chunk) == 1:
                        break
                    chunk = chunk[: len(chunk) // 2]
        finally:
            os.close(fd)

    def release(self, nbytes: int) -> None:
        """Give ``nbytes`` of the ballast back (what an operator deleting a few files does)."""
        size = self._ballast.stat().st_size
        os.truncate(self._ballast, max(0, size - nbytes))

    def free(self) -> None:
        """Remove the ballast: the filesystem has its space back."""
        self._ballast.unlink(missing_ok=True)

    def unmount(self) -> None:
        if self._mounted:
            # Lazily: a process of the test may still hold a file open here.
            subprocess.run(["umount", "-l", self.path], capture_output=True, check=False)
            self._mounted = False
        with contextlib.suppress(OSError):
            self.path.rmdir()


class FullDisk:
    """An SQLite database on a ``SmallDisk`` of its own."""

    def __init__(self, disk: SmallDisk) -> None:
        self.disk = disk
        self.url = f"sqlite:///{disk.path / 'hookline.db'}"

    async def fill(self) -> None:
        self.disk.fill()

    async def free(self) -> None:
        self.disk.free()


_RAISE = """
CREATE OR REPLACE FUNCTION hookline_test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'refused by the test: {condition}' USING ERRCODE = '{condition}';
END $$
"""


class PostgresFull:
    """The database at ``url`` refuses every write (or every write of ``tables``) with
    ``condition`` while filled."""

    def __init__(
        self, url: str, *, condition: str = "disk_full", tables: tuple[str, ...] | None = None
    ) -> None:
        self.url = url
        self.condition = condition
        self.tables = tables

    async def _tables(self, conn: asyncpg.Connection) -> list[str]:
        rows = await conn.fetch(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        )
        return [str(r["relname"]) for r in rows]

    async def fill(self) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(_RAISE.format(condition=self.condition))
            for table in self.tables or await self._tables(conn):
                await conn.execute(
                    "CREATE TRIGGER hookline_test_disk_full BEFORE INSERT OR UPDATE OR DELETE "
                    f'ON "{table}" FOR EACH ROW EXECUTE FUNCTION hookline_test_disk_full()'
                )
        finally:
            await conn.close()

    async def free(self) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute("DROP FUNCTION IF EXISTS hookline_test_disk_full() CASCADE")
        finally:
            await conn.close()
