"""PostgreSQL attempts by day: days created ahead, expired days dropped whole, and the
migration that partitions a populated attempts table."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import asyncpg  # type: ignore[import-untyped]
import pytest
from test_store import SUCCEEDED, add_webhook, add_workspace, claim_one, finished, publish

from hookline.domain.models import Webhook
from hookline.ids import new_id, now_ms
from hookline.store.port import Store
from hookline.store.postgres import PostgresStore, migrations
from hookline.store.postgres.partitions import DAY_MS, LOCK_KEY, day_start, partition_name

pytestmark = pytest.mark.postgres


@pytest.fixture
def backend() -> str:
    """Every test here runs on PostgreSQL only."""
    return "postgresql"


async def _partitions(database: str) -> dict[str, str]:
    """Each partition of ``attempts`` and its bound, as PostgreSQL writes it."""
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'attempts'::regclass"
        )
    finally:
        await conn.close()
    return {r["relname"]: r["bound"] for r in rows}


async def _partition_of(database: str, attempt_ids: list[str]) -> dict[str, str]:
    """The partition each attempt is stored in."""
    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch(
            "SELECT id, tableoid::regclass::text AS part FROM attempts WHERE id = ANY($1)",
            attempt_ids,
        )
    finally:
        await conn.close()
    return {r["id"]: r["part"] for r in rows}


async def _attempt_at(store: Store, wh: Webhook, at: int) -> tuple[str, str]:
    """Publish an event at ``at``, attempt its delivery an hour later: (delivery id, attempt id)."""
    await publish(store, wh, created_at=at)
    record = finished(await claim_one(store, now=at + 1), SUCCEEDED)
    attempt = dataclasses.replace(record.attempt, started_at=at + 3_600_000)
    await store.record_attempts("A", [dataclasses.replace(record, attempt=attempt)])
    return attempt.delivery_id, attempt.id


async def _old_attempt_at(database: str, wh: Webhook, at: int) -> tuple[str, str]:
    """``_attempt_at`` in SQL, on the schema before 0006 (which today's store code, reading
    and writing later columns, does not speak): (delivery id, attempt id)."""
    dlv_id, attempt_id = new_id("dlv"), new_id("att")
    request = {"method": "POST", "url": wh.url, "headers": {}, "body": "{}"}
    response = {"status": 200, "headers": {}, "body": "", "truncated": False}
    conn = await asyncpg.connect(database)
    try:
        async with conn.transaction():
            event_pk = await conn.fetchval(
                "INSERT INTO events (id, workspace_id, type, data, created_at) "
                "VALUES ($1, $2, 'order.paid', '{}', $3) RETURNING pk",
                new_id("evt"),
                wh.workspace_id,
                at,
            )
            await conn.execute(
                "INSERT INTO deliveries (id, event_pk, webhook_id, workspace_id, event_id, "
                "event_type, status, attempt_count, created_at, completed_at, last_status_code) "
                "SELECT $1, e.pk, $2, e.workspace_id, e.id, e.type, 'succeeded', 1, $3, $4, 200 "
                "FROM events e WHERE e.pk = $5",
                dlv_id,
                wh.id,
                at,
                at + 3_600_000,
                event_pk,
            )
            await conn.execute(
                "INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, "
                "request, response, error, outcome) VALUES ($1, $2, 1, $3, 1.5, $4, $5, NULL, "
                "'success')",
                attempt_id,
                dlv_id,
                at + 3_600_000,
                json.dumps(request),
                json.dumps(response),
            )
    finally:
        await conn.close()
    return dlv_id, attempt_id


async def test_the_coming_days_are_created_ahead(store: Store, database: str) -> None:
    today = day_start(now_ms())
    names = await _partitions(database)
    assert {partition_name(today + n * DAY_MS) for n in range(3)} <= set(names)
    assert names["attempts_default"] == "DEFAULT"

    assert await store.rotate_partitions(today + 10 * DAY_MS, before=0) == 0
    names = await _partitions(database)
    day = today + 11 * DAY_MS
    assert names[partition_name(day)] == f"FOR VALUES FROM ('{day}') TO ('{day + DAY_MS}')"
    assert partition_name(today + 12 * DAY_MS) in names
    assert partition_name(today + 13 * DAY_MS) not in names
    assert await store.rotate_partitions(today + 10 * DAY_MS, before=0) == 0
    assert len(await _partitions(database)) == len(names)


async def test_retention_drops_the_days_it_has_passed_and_keeps_the_rest(
    store: Store, database: str
) -> None:
    today = day_start(now_ms())
    old = today - 10 * DAY_MS
    await store.rotate_partitions(old - DAY_MS, before=0)  # the days old and old + 1 day
    await add_workspace(store)
    wh = await add_webhook(store)
    gone = await _attempt_at(store, wh, old)
    straddling = await _attempt_at(store, wh, old + DAY_MS + 2 * 3_600_000)
    recent = await _attempt_at(store, wh, now_ms() - 3_600_000)
    stored = await _partition_of(database, [gone[1], straddling[1], recent[1]])
    assert stored[gone[1]] == partition_name(old)
    assert stored[straddling[1]] == partition_name(old + DAY_MS)

    cut = old + DAY_MS + 3_600_000  # in the day of `straddling`, an hour before its event
    assert await store.rotate_partitions(now_ms(), before=cut) == 1
    assert partition_name(old) not in await _partitions(database)
    assert await store.list_attempts(gone[0]) == []
    assert [a.id for a in await store.list_attempts(straddling[0])] == [straddling[1]]
    assert [a.id for a in await store.list_attempts(recent[0])] == [recent[1]]

    assert await store.purge_expired(cut, batch=100) == 1  # the event of `gone`
    assert await store.get_delivery(gone[0]) is None
    assert await store.get_delivery(straddling[0]) is not None
    assert await store.rotate_partitions(now_ms(), before=cut) == 0


async def test_rows_no_day_holds_go_to_the_default_and_with_their_events(
    store: Store, database: str
) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    long_ago = day_start(now_ms()) - 100 * DAY_MS
    dlv_id, att_id = await _attempt_at(store, wh, long_ago)
    assert await _partition_of(database, [att_id]) == {att_id: "attempts_default"}
    assert await store.rotate_partitions(now_ms(), before=long_ago + DAY_MS) == 0
    assert await store.purge_expired(long_ago + DAY_MS, batch=100) == 1
    assert await store.list_attempts(dlv_id) == []
    assert await _partition_of(database, [att_id]) == {}


async def test_deleting_a_webhook_or_workspace_still_takes_its_attempts(
    store: Store, database: str
) -> None:
    await add_workspace(store)
    wh, other = await add_webhook(store), await add_webhook(store)
    _, att_wh = await _attempt_at(store, wh, now_ms() - 3_600_000)
    _, att_other = await _attempt_at(store, other, now_ms() - 3_600_000)
    assert await store.delete_webhook(wh.id)
    assert set(await _partition_of(database, [att_wh, att_other])) == {att_other}
    assert await store.delete_workspace("acme")
    assert await _partition_of(database, [att_other]) == {}


# The migration that partitions attempts, and those after it that change the attempts table.
AFTER_PARTITIONING = {"0006_attempts_by_day", "0012_attempts_by_webhook"}


@pytest.mark.empty_database
async def test_the_migration_partitions_a_populated_attempts_table(
    store_factory: Callable[[], Store], database: str
) -> None:
    conn = await asyncpg.connect(database)
    try:
        async with conn.transaction():
            await conn.execute(
                "CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT)"
            )
            # Every migration but the one that partitions attempts (and the later ones that
            # change attempts, which come after it), so that today's store code writes the
            # rows it partitions.
            for name, sql in migrations.scripts():
                if name.removesuffix(".sql") not in AFTER_PARTITIONING:
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_migrations VALUES ($1, 0)", name)
    finally:
        await conn.close()
    store = store_factory()
    assert isinstance(store, PostgresStore)
    today = day_start(now_ms())
    await add_workspace(store)
    wh = await add_webhook(store)
    ages = {
        "recent": today + 60_000,
        "days": today - 3 * DAY_MS,
        "ancient": today - 500 * DAY_MS,
        "ahead": today + 10 * DAY_MS,  # a clock far off
    }
    made = {age: await _old_attempt_at(database, wh, at - 3_600_000) for age, at in ages.items()}
    before = {dlv: await store.list_attempts(dlv) for dlv, _ in made.values()}

    assert await store.migrate() == sorted(AFTER_PARTITIONING)
    assert {dlv: await store.list_attempts(dlv) for dlv, _ in made.values()} == before
    names = await _partitions(database)
    first = today - 400 * DAY_MS
    assert names[f"attempts_before_{partition_name(first).removeprefix('attempts_')}"] == (
        f"FOR VALUES FROM (MINVALUE) TO ('{first}')"
    )
    days = [partition_name(first + n * DAY_MS) for n in range(403)]
    assert set(names) == {*days, "attempts_default", next(n for n in names if "before" in n)}
    stored = await _partition_of(database, [att for _, att in made.values()])
    assert stored[made["recent"][1]] == partition_name(today)
    assert stored[made["days"][1]] == partition_name(today - 3 * DAY_MS)
    assert stored[made["ancient"][1]].startswith("attempts_before_")
    assert stored[made["ahead"][1]] == "attempts_default"

    conn = await asyncpg.connect(database)
    try:
        indexes = await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'attempts'")
        assert {r["indexname"] for r in indexes} == {
            "attempts_pkey",
            "attempts_delivery",
            "attempts_webhook",
        }
        assert await conn.fetchval("SELECT to_regclass('attempts_unpartitioned')") is None
    finally:
        await conn.close()

    second = await _attempt_at(store, wh, now_ms() - 3_600_000)
    assert [a.id for a in await store.list_attempts(second[0])] == [second[1]]
    assert await store.rotate_partitions(now_ms(), before=today - 3 * DAY_MS) == 398
    assert await store.list_attempts(made["ancient"][0]) == []
    assert await store.list_attempts(made["days"][0]) == before[made["days"][0]]

    # The day of the row in the default cannot be made (the row stays); the next one can.
    assert await store.rotate_partitions(today + 9 * DAY_MS, before=0) == 0
    names = await _partitions(database)
    assert partition_name(today + 10 * DAY_MS) not in names
    assert partition_name(today + 11 * DAY_MS) in names
    assert await _partition_of(database, [made["ahead"][1]]) == {
        made["ahead"][1]: "attempts_default"
    }


async def test_a_busy_attempts_table_delays_the_drop_instead_of_stalling_writes(
    store: Store, database: str
) -> None:
    old = day_start(now_ms()) - 10 * DAY_MS
    await store.rotate_partitions(old - DAY_MS, before=0)
    await add_workspace(store)
    wh = await add_webhook(store)
    reader = await asyncpg.connect(database)
    try:
        async with reader.transaction():
            await reader.fetch("SELECT count(*) FROM attempts")  # a long report holds its lock
            started = now_ms()
            assert await store.rotate_partitions(now_ms(), before=old + DAY_MS) == 0
            assert now_ms() - started < 2_000
            assert partition_name(old) in await _partitions(database)
            await _attempt_at(store, wh, now_ms() - 3_600_000)  # writes go on meanwhile
    finally:
        await reader.close()
    assert await store.rotate_partitions(now_ms(), before=old + DAY_MS) == 1
    assert partition_name(old) not in await _partitions(database)


async def test_one_process_at_a_time_maintains_the_partitions(store: Store, database: str) -> None:
    today = day_start(now_ms())
    other = await asyncpg.connect(database)
    try:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY)
        assert await store.rotate_partitions(today + 10 * DAY_MS, before=0) == 0
        assert partition_name(today + 11 * DAY_MS) not in await _partitions(database)
    finally:
        await other.close()
    await store.rotate_partitions(today + 10 * DAY_MS, before=0)
    assert partition_name(today + 11 * DAY_MS) in await _partitions(database)
