"""Store fixtures: every contract test runs once per storage backend, on a fresh database.

To add a backend, append it to ``BACKENDS`` (mark it, e.g. ``pytest.mark.postgres``),
make ``database`` create a fresh empty database for it, and ``_new_store`` open it.

PostgreSQL: ``HOOKLINE_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``)
names a server and a maintenance database. A template database is migrated once per
session; each test gets ``CREATE DATABASE test_<uuid> TEMPLATE <template>`` (made
ahead), dropped after it (in the background), the template at the end. When the server is unreachable the PostgreSQL tests are skipped, saying why,
unless ``HOOKLINE_REQUIRE_POSTGRES=1``: then they fail.

``full_storage`` is a database that a test can make run out of space (``support.storage``):
SQLite on a small tmpfs of its own (mounting needs root; skipped elsewhere, saying why),
PostgreSQL raising its own ``disk_full`` on every write.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from support.postgres import (
    BACKENDS,
    POSTGRES_UNREACHABLE,
    POSTGRES_URL,
    execute,
    with_database,
)
from support.receiver import Receiver
from support.requirements import unavailable
from support.storage import FullDisk, PostgresFull, SmallDisk, Unavailable

from hookline.secrets import SecretBox
from hookline.store.port import Store
from hookline.store.postgres import PostgresStore
from hookline.store.sqlite import SqliteStore

# The deployment key of every store the fixtures open (custom headers are sealed with it).
BOX = SecretBox(Fernet.generate_key().decode())


async def _create_template(name: str) -> None:
    await execute(f'CREATE DATABASE "{name}"')
    store = PostgresStore(with_database(POSTGRES_URL, name), box=BOX, max_size=1)
    try:
        await store.migrate()
    finally:
        await store.close()


async def _drop(name: str) -> None:
    await execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Databases:
    """Fresh copies of the session's migrated template, made one test ahead on a worker thread.

    Copying a database takes a few hundred milliseconds of server I/O; making the
    next one while a test runs (and dropping the last one after it) hides most of it.
    """

    def __init__(self, template: str) -> None:
        self.template = template
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hookline-test-db")
        self._next: Future[str] | None = None
        self._dropping: list[Future[None]] = []

    def take(self) -> str:
        """The name of a new database, copied from the template."""
        ready = self._next or self._worker.submit(self._copy)
        self._next = self._worker.submit(self._copy)
        return ready.result()

    def give_back(self, name: str) -> None:
        self._dropping.append(self._worker.submit(lambda: asyncio.run(_drop(name))))

    def close(self) -> None:
        if self._next is not None:
            self.give_back(self._next.result())
        for dropped in self._dropping:
            dropped.result()
        self._worker.shutdown()
        asyncio.run(_drop(self.template))

    def _copy(self) -> str:
        name = f"test_{uuid.uuid4().hex}"
        asyncio.run(_create(name, template=self.template))
        return name


async def _create(name: str, *, template: str) -> None:
    await execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[Databases]:
    """Test databases from a template migrated once, or skip/fail if PostgreSQL is unreachable."""
    name = f"hookline_template_{uuid.uuid4().hex}"
    try:
        asyncio.run(_create_template(name))
    except POSTGRES_UNREACHABLE as exc:
        asyncio.run(_drop_quietly(name))
        unavailable(
            f"PostgreSQL unreachable at {POSTGRES_URL}: {exc!r}", "HOOKLINE_REQUIRE_POSTGRES"
        )
    databases = Databases(name)
    yield databases
    databases.close()


async def _drop_quietly(name: str) -> None:
    try:
        await _drop(name)
    except POSTGRES_UNREACHABLE:
        pass


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def databases(backend: str, request: pytest.FixtureRequest) -> Databases | None:
    """The PostgreSQL test databases (skips the test if the server is unreachable)."""
    if backend != "postgresql":
        return None
    found: Databases = request.getfixturevalue("postgres_databases")
    return found


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "empty_database: give the test an empty (unmigrated) database"
    )


@pytest.fixture
async def database(
    backend: str, databases: Databases | None, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """The URL of a fresh database of the backend under test.

    A PostgreSQL one is a copy of the migrated template, unless the test is
    marked ``empty_database``; an SQLite one is a new, empty file.
    """
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'hookline.db'}"
        return
    if backend != "postgresql" or databases is None:
        raise NotImplementedError(backend)
    if request.node.get_closest_marker("empty_database") is None:
        name = databases.take()
    else:
        name = f"test_{uuid.uuid4().hex}"
        await _create(name, template="template0")
    yield with_database(POSTGRES_URL, name)
    databases.give_back(name)


def _new_store(url: str) -> Store:
    if url.startswith("sqlite:///"):
        return SqliteStore(Path(url.removeprefix("sqlite:///")), box=BOX)
    if url.startswith("postgresql://"):
        return PostgresStore(url, box=BOX)
    raise NotImplementedError(url)


@pytest.fixture
def full_storage(backend: str, request: pytest.FixtureRequest) -> Iterator[FullDisk | PostgresFull]:
    """A database of the backend under test (``url``) that the test can ``fill`` and ``free``."""
    if backend == "postgresql":
        database: str = request.getfixturevalue("database")
        yield PostgresFull(database)  # the database is dropped after the test
        return
    try:
        disk = SmallDisk(8).mount()
    except Unavailable as exc:
        pytest.skip(str(exc))
    try:
        yield FullDisk(disk)
    finally:
        disk.unmount()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A recording receiver of this test alone, on its event loop: what it holds (``HANG``)
    waits for the test's ``release()``, or the end of the test."""
    async with Receiver() as rcv:
        yield rcv


@pytest.fixture
def box() -> SecretBox:
    """The box the fixtures' stores seal with."""
    return BOX


@pytest.fixture
async def store_factory(database: str) -> AsyncIterator[Callable[[], Store]]:
    """Makes unopened stores on the test's database (several, like several processes)."""
    made: list[Store] = []

    def make() -> Store:
        made.append(_new_store(database))
        return made[-1]

    yield make
    for s in made:
        await s.close()


@pytest.fixture
async def store(store_factory: Callable[[], Store]) -> Store:
    """An opened (migrated) store on a fresh database; closed after the test."""
    s = store_factory()
    await s.open()
    return s
