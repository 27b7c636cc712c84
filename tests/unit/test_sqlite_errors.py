"""Which of SQLite's errors are the storage failing (Hookline's 503s) and which are not."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hookline.errors import StorageFull, StorageUnavailable
from hookline.store.sqlite.errors import storage_error


def error(code: int, message: str) -> sqlite3.OperationalError:
    """SQLite's exception as the driver raises it, with its extended result code."""
    exc = sqlite3.OperationalError(message)
    exc.sqlite_errorcode = code
    exc.sqlite_errorname = message
    return exc


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (sqlite3.SQLITE_FULL, StorageFull),
        (sqlite3.SQLITE_IOERR_WRITE, StorageUnavailable),  # with room on the disk: a failing disk
        (sqlite3.SQLITE_IOERR_SHMSIZE, StorageUnavailable),
        (sqlite3.SQLITE_NOMEM, StorageUnavailable),
        (sqlite3.SQLITE_BUSY, StorageUnavailable),
        (sqlite3.SQLITE_READONLY, StorageUnavailable),
        (sqlite3.SQLITE_CANTOPEN, StorageUnavailable),
    ],
)
def test_failures_of_the_storage_are_hooklines_own(
    tmp_path: Path, code: int, expected: type[StorageUnavailable]
) -> None:
    exc = error(code, "failed")
    found = storage_error(exc, tmp_path / "hookline.db")
    assert type(found) is expected
    assert found is not None and found.__cause__ is exc


@pytest.mark.parametrize(
    "exc",
    [
        error(sqlite3.SQLITE_CONSTRAINT_UNIQUE, "UNIQUE constraint failed: events.id"),
        error(sqlite3.SQLITE_ERROR, "no such table: nowhere"),
        ValueError("not SQLite's"),
    ],
)
def test_other_errors_stay_as_they_are(tmp_path: Path, exc: Exception) -> None:
    assert storage_error(exc, tmp_path / "hookline.db") is None
