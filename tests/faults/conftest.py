"""Fixtures of the fault tier: real processes on PostgreSQL, killed, cut off and lied to, and a
real filesystem that fills up under SQLite.

Every test here is marked ``slow`` (and ``postgres`` where it needs the server), and every
wait has a deadline: a test that goes wrong fails within a minute or two, its processes
(and cluster, and filesystem) stopped by the fixtures. Each database is new and
dropped after its test; when the PostgreSQL server (``HOOKLINE_TEST_POSTGRES_URL``)
is unreachable the tests are skipped, saying why, unless
``HOOKLINE_REQUIRE_POSTGRES=1``: then they fail. The PostgreSQL-restart test runs
its own cluster (``initdb``/``pg_ctl`` in a temporary directory, on a free port),
never the shared server. The full-disk tests mount a small tmpfs (``support.storage.SmallDisk``),
which needs root; elsewhere they are skipped, saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.requirements import unavailable
from support.storage import SmallDisk, Unavailable

from .cluster import BIN, Cluster
from .fleet import Fleet


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A running PostgreSQL cluster of this test alone; stopped and removed however it ends."""
    if not (BIN / "initdb").exists():
        unavailable(
            f"no PostgreSQL binaries in {BIN} (HOOKLINE_TEST_PG_BIN)", "HOOKLINE_REQUIRE_POSTGRES"
        )
    owned = Cluster()
    try:
        owned.init().start()
        yield owned
    finally:
        owned.destroy()


@pytest.fixture
def start_fleet(tmp_path: Path) -> Iterator[Callable[..., Fleet]]:
    """Starts ``Fleet(root, database_url, **options)``; every process stops after the test."""
    made: list[Fleet] = []

    def start(database_url: str, **options: Any) -> Fleet:
        made.append(Fleet(tmp_path / f"fleet{len(made)}", database_url, **options))
        return made[-1].start()

    yield start
    for fleet in made:
        fleet.close()


@pytest.fixture
def small_disk() -> Iterator[SmallDisk]:
    """A 24 MiB tmpfs of this test alone (``fill``, ``release``, ``free``); unmounted after it."""
    try:
        disk = SmallDisk(24).mount()
    except Unavailable as exc:
        pytest.skip(str(exc))
    try:
        yield disk
    finally:
        disk.unmount()
