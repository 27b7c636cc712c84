"""Fixtures of every tier. The helpers behind them, and the ones tests import, are in
``tests/support/``.

``receiver`` is a recording receiver for the session (each test takes its own endpoints).
``postgres_server`` is the PostgreSQL server's URL once it answered; a test asking for it
is skipped, saying why, when it does not (or fails, with ``HOOKLINE_REQUIRE_POSTGRES=1``);
``database`` is a new database on it for one test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.postgres import BACKENDS, create_database, drop_database, require_server
from support.receiver import Receiver


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    """A recording receiver on 127.0.0.1 for the session; each test takes its own endpoints."""
    with Receiver() as rcv:
        yield rcv


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL server's URL, once it answered; skips (or fails) the test if it does not."""
    return require_server()


@pytest.fixture
def database(postgres_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database of this test, dropped afterwards (the integration
    tier's ``database`` is either store instead)."""
    url = create_database(postgres_server)
    try:
        yield url
    finally:
        drop_database(url, postgres_server)


@pytest.fixture(params=BACKENDS)
def app_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An application's own database (the outbox tests' Django or SQLAlchemy app), new and
    empty: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    server: str = request.getfixturevalue("postgres_server")
    url = create_database(server)
    try:
        yield url
    finally:
        drop_database(url, server)
