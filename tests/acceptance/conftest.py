"""Fixtures of the acceptance tier: one server per module and backend (the recording
receiver of the session is in ``tests/conftest.py``).

Tests that share a server do not interfere: each takes its own workspace and
its own receiver endpoint.

Backends: every module whose tests use the ``hookline`` server (or ``backend``,
``database_url``) runs once on SQLite and once on PostgreSQL, each PostgreSQL
server on its own new database, dropped at teardown. When the PostgreSQL server
(``HOOKLINE_TEST_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1:5432/postgres``)
is unreachable, the PostgreSQL runs are skipped, saying why, unless
``HOOKLINE_REQUIRE_POSTGRES=1``: then they fail. Modules that start only their
own servers without asking for a backend (the SSRF checks of ``test_safety``) run
on SQLite only: what they test does not touch the store. Nor do the modules marked
``store_independent`` (a client, the CLI, a document's examples, all through the API, whose
store every other module tests on both backends): their PostgreSQL runs are deselected.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.postgres import BACKENDS, create_database, drop_database
from support.server import Api, Hookline


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("backend") == "postgresql"
        (dropped if on_postgres and item.get_closest_marker("store_independent") else kept).append(
            item
        )
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The storage backend of this module's servers: ``sqlite`` or ``postgresql``."""
    name: str = request.param
    return name


def _database(backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """``None`` for SQLite (the file in the server's data directory), else a new database."""
    if backend == "sqlite":
        yield None
        return
    server: str = request.getfixturevalue("postgres_server")
    url = create_database(server)
    try:
        yield url
    finally:
        drop_database(url, server)


@pytest.fixture(scope="module")
def module_database(backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The database of this module's server (``None``: SQLite in its data directory)."""
    yield from _database(backend, request)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A database for the servers one test starts itself (``None``: SQLite in the data directory).

    Pass it to every ``Hookline`` of the test: a restart on the same data directory
    must find the same database.
    """
    yield from _database(backend, request)


@pytest.fixture(scope="module")
def hookline(
    tmp_path_factory: pytest.TempPathFactory, module_database: str | None
) -> Iterator[Hookline]:
    with Hookline(
        tmp_path_factory.mktemp("hookline"), database_url=module_database
    ).running() as server:
        yield server


@pytest.fixture(scope="module")
def api(hookline: Hookline) -> Iterator[Api]:
    with hookline.api() as client:
        yield client


@pytest.fixture
def ws(api: Api) -> str:
    """A fresh workspace for one test."""
    return api.workspace()
