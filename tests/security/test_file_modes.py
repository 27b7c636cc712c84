"""The data directory and every file in it are private to the owner: 0700 and 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hookline.data_dir import ensure_generated_keys
from hookline.secrets import SecretBox
from hookline.settings import load_settings
from hookline.store.sqlite import SqliteStore

BOX = SecretBox(Fernet.generate_key().decode())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask most shells start with, which by itself makes files world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


async def test_a_new_data_directory_and_its_files_are_private(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    ensure_generated_keys(settings)
    store = SqliteStore(settings.sqlite_path, box=BOX)
    await store.open()
    try:
        await store.ping()
        await store.listen_for_work(lambda: None)  # registers in the run directory
        await store.set_key_check("token", now=0)  # a write: takes the write lock
        found = sorted(settings.data_dir.rglob("*"))
        names = {str(f.relative_to(settings.data_dir)) for f in found}
        assert {"hookline.db", "hookline.db-wal", "hookline.db-shm", "admin.key"} <= names
        assert {"hookline.db-run/write.lock", "hookline.db-run/wake"} <= names
        assert mode(settings.data_dir) == 0o700
        assert {f.name: mode(f) for f in found} == {
            f.name: 0o700 if f.is_dir() else 0o600 for f in found
        }
    finally:
        await store.close()


async def test_an_existing_database_is_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    db = data / "hookline.db"
    db.touch(mode=0o644)
    settings = load_settings(data_dir=data)
    ensure_generated_keys(settings)
    store = SqliteStore(settings.sqlite_path, box=BOX)
    await store.open()
    try:
        assert mode(data) == 0o700
        assert mode(db) == 0o600
    finally:
        await store.close()


async def test_a_database_outside_the_data_directory_gets_a_private_directory(
    tmp_path: Path,
) -> None:
    path = tmp_path / "elsewhere" / "hooks.db"
    store = SqliteStore(path, box=BOX)
    await store.open()
    try:
        assert mode(path.parent) == 0o700
        assert mode(path) == 0o600
    finally:
        await store.close()
