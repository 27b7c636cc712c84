"""SQLite's errors that say the storage failed, not the statement, as Hookline's own.

- ``SQLITE_FULL`` ("database or disk is full"): the file could not grow. ``StorageFull``.
- ``SQLITE_IOERR`` and its variants ("disk I/O error"): a read, write, sync or the
  shared-memory index failed. On a filesystem with (almost) no space left that is the
  full disk again, as when the WAL or its index cannot grow: ``StorageFull``. Otherwise
  the disk is failing or gone: ``StorageUnavailable``.
- Out of memory, a lock held past the busy timeout, a file that cannot be opened or is
  read-only: ``StorageUnavailable``, worth trying again later.

Anything else (a constraint, a bug in a statement) stays SQLite's own.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from hookline.errors import StorageFull, StorageUnavailable

# Below this many free bytes on the database's filesystem, an I/O error is the full disk.
NEARLY_FULL = 1 << 20

_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_READONLY,
    }
)


def storage_error(exc: BaseException, path: Path) -> StorageUnavailable | None:
    """The Hookline error ``exc`` stands for (the database being at ``path``), if any."""
    code = getattr(exc, "sqlite_errorcode", None) if isinstance(exc, sqlite3.Error) else None
    if code is None:
        return None
    primary = code & 0xFF
    if primary == sqlite3.SQLITE_FULL or (primary == sqlite3.SQLITE_IOERR and _nearly_full(path)):
        fault: StorageUnavailable = StorageFull()
    elif primary in _UNAVAILABLE:
        fault = StorageUnavailable()
    else:
        return None
    fault.__cause__ = exc
    return fault


def _nearly_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < NEARLY_FULL
    except OSError:
        return False
