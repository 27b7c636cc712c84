"""Event types' schema versions at rest: the migration makes a single schema version "1"."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from hookline.domain.models import SchemaVersion
from hookline.store.port import Store
from hookline.store.postgres import migrations as pg_migrations
from hookline.store.sqlite import migrations as sqlite_migrations

OURS = "_schema_versions.sql"
SCHEMA = {"type": "object", "required": ["id"]}
EXAMPLE = {"id": 7}
INSERT = (
    "INSERT INTO event_types (name, category, description, schema, example, archived, "
    "created_at, updated_at) VALUES ({}, 'a', '', {}, {}, {}, 1, 1)"
)


def _before_ours(scripts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    (ours,) = [name for name, _ in scripts if name.endswith(OURS)]
    return [(name, sql) for name, sql in scripts if name < ours]


async def _migrate_to_just_before_ours(database: str) -> None:
    """Every migration older than ours, then one type with a schema and example and one
    with neither, written as the older schema held them."""
    rows = [("'a.full'", json.dumps(SCHEMA), json.dumps(EXAMPLE)), ("'a.bare'", None, None)]
    if database.startswith("sqlite:///"):
        conn = sqlite3.connect(Path(database.removeprefix("sqlite:///")))
        try:
            conn.execute("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at)")
            for name, sql in _before_ours(sqlite_migrations.scripts()):
                conn.executescript(sql)
                conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (name,))
            for name, schema, example in rows:
                conn.execute(INSERT.format(name, "?", "?", 0), (schema, example))
            conn.commit()
        finally:
            conn.close()
        return
    pg = await asyncpg.connect(database)
    try:
        async with pg.transaction():
            await pg.execute(
                "CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT)"
            )
            for name, sql in _before_ours(pg_migrations.scripts()):
                await pg.execute(sql)
                await pg.execute("INSERT INTO schema_migrations VALUES ($1, 0)", name)
            for name, schema, example in rows:
                await pg.execute(INSERT.format(name, "$1", "$2", "false"), schema, example)
    finally:
        await pg.close()


@pytest.mark.empty_database
async def test_the_migration_makes_a_single_schema_and_example_version_1(
    store_factory: Callable[[], Store], database: str
) -> None:
    await _migrate_to_just_before_ours(database)
    store = store_factory()
    applied = await store.migrate()
    assert any(name.endswith(OURS.removesuffix(".sql")) for name in applied)

    full = await store.get_event_type("a.full")
    assert full is not None
    assert full.versions == {"1": SchemaVersion(schema=SCHEMA, example=EXAMPLE)}
    assert (full.latest, full.deprecated) == ("1", False)
    bare = await store.get_event_type("a.bare")
    assert bare is not None
    assert (bare.versions, bare.latest) == ({}, None)
