"""The SQLAlchemy outbox against real SQLite and PostgreSQL databases and a real Hookline.

Each test gets a fresh application database (a SQLite file, or a new PostgreSQL
database dropped after it) holding the outbox table; the tests that relay talk to one
``hookline serve`` subprocess on SQLite shared by the module.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.orm import Session
from support.net import free_port
from support.postgres import create_database, drop_database
from support.server import ADMIN_KEY, Hookline

from hookline.client import Client, Retries
from hookline.outbox import Relay
from hookline.outbox import alembic as outbox_migration
from hookline.outbox.payload import EventDataError
from hookline.outbox.sqlalchemy import (
    SQLAlchemySource,
    aenqueue,
    create_engine,
    create_table,
    enqueue,
    outbox,
)


@pytest.fixture
def engine(app_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(app_url)
    create_table(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def source(engine: sa.Engine) -> SQLAlchemySource:
    return SQLAlchemySource(engine)


@pytest.fixture(scope="module")
def hookline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hookline]:
    server = Hookline(tmp_path_factory.mktemp("hookline")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ws(hookline: Hookline) -> Iterator[str]:
    with hookline.api() as api:
        yield api.workspace()


def rows(engine: sa.Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        return {r.id: dict(r._mapping) for r in conn.execute(sa.select(outbox))}


def enqueue_many(engine: sa.Engine, count: int, **fields: Any) -> list[str]:
    with engine.begin() as conn:
        return [enqueue(conn, "order.created", {"n": n}, **fields) for n in range(count)]


def test_an_event_exists_if_and_only_if_its_transaction_commits(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        with conn.begin():
            committed = enqueue(conn, "order.created", {"orderId": 1}, workspace_id="ws_a")
        transaction = conn.begin()
        lost = enqueue(conn, "order.created", {"orderId": 2})
        transaction.rollback()
    with Session(engine) as session:
        with session.begin():
            in_session = enqueue(session, "order.paid", {"orderId": 3})
        session.begin()
        lost_in_session = enqueue(session, "order.paid", {"orderId": 4})
        session.rollback()

    found = rows(engine)
    assert set(found) == {committed, in_session}
    assert lost not in found and lost_in_session not in found
    row = found[committed]
    assert row["id"].startswith("evt_") and len(row["id"]) == 30
    assert (row["workspace_id"], row["event_type"], row["payload"]) == (
        "ws_a",
        "order.created",
        {"orderId": 1},
    )
    assert row["attempts"] == 0 and row["next_attempt_at"] == row["created_at"]
    assert row["created_at"].tzinfo is not None
    assert all(row[c] is None for c in ("locked_by", "sent_at", "refused_at", "last_error"))
    assert found[in_session]["workspace_id"] is None


@pytest.fixture
def postgres_app_url(postgres_server: str) -> Iterator[str]:
    url = create_database(postgres_server)
    try:
        yield url
    finally:
        drop_database(url, postgres_server)


@pytest.mark.postgres
async def test_enqueue_in_an_async_session(postgres_app_url: str) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    sync = create_engine(postgres_app_url)
    create_table(sync)
    engine = create_async_engine(postgres_app_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with AsyncSession(engine) as session:
            async with session.begin():
                kept = await aenqueue(session, "order.created", {"n": 1})
            await session.begin()
            await aenqueue(session, "order.created", {"n": 2})
            await session.rollback()
        assert set(rows(sync)) == {kept}
    finally:
        await engine.dispose()
        sync.dispose()


def test_enqueue_writes_decimals_dates_and_uuids_as_djangos_send_does(engine: sa.Engine) -> None:
    placed = datetime(2026, 3, 18, 10, 5, 0, 123456, tzinfo=UTC)
    customer = uuid.UUID("12345678-1234-5678-1234-567812345678")
    with engine.begin() as conn:
        event_id = enqueue(
            conn, "order.created", {"total": Decimal("12.50"), "at": placed, "by": customer}
        )
    assert rows(engine)[event_id]["payload"] == {
        "total": "12.50",
        "at": "2026-03-18T10:05:00.123Z",
        "by": "12345678-1234-5678-1234-567812345678",
    }


def test_enqueue_refuses_what_cannot_be_an_event(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        with pytest.raises(TypeError):
            enqueue(conn, "order.created", [1, 2])  # type: ignore[arg-type]
        with pytest.raises(EventDataError, match=r"data\['tags'\] is of type set"):
            enqueue(conn, "order.created", {"tags": {"a"}})
        with pytest.raises(ValueError, match="an event type is 1 to 128 characters"):
            enqueue(conn, "", {})
    assert rows(engine) == {}


def test_claims_are_leases_fenced_by_their_owner(
    engine: sa.Engine, source: SQLAlchemySource
) -> None:
    ids = enqueue_many(engine, 5)
    lease = datetime.now(UTC) + timedelta(seconds=60)

    first = source.claim("a", 3, lease)
    assert [p.id for p in first] == ids[:3], "oldest first"
    assert [p.data for p in first] == [{"n": 0}, {"n": 1}, {"n": 2}]
    second = source.claim("b", 10, lease)
    assert [p.id for p in second] == ids[3:], "b never gets a's leased rows"
    assert source.claim("c", 10, lease) == []

    # b dies: its lease runs out (here: it is already over) and c takes the rows over.
    expired = datetime.now(UTC) - timedelta(seconds=1)
    with engine.begin() as conn:
        conn.execute(sa.update(outbox).where(outbox.c.id.in_(ids[3:])).values(locked_until=expired))
    taken_over = source.claim("c", 10, lease)
    assert [p.id for p in taken_over] == ids[3:]

    now = datetime.now(UTC)
    source.sent("b", [ids[3]], now)
    source.retry("b", {ids[4]: now + timedelta(hours=1)}, "b was too late")
    source.refuse("b", {ids[4]: "b was too late"}, now)
    fenced = rows(engine)
    for row_id in ids[3:]:
        assert fenced[row_id]["locked_by"] == "c"
        assert fenced[row_id]["sent_at"] is None and fenced[row_id]["refused_at"] is None
        assert fenced[row_id]["attempts"] == 0 and fenced[row_id]["last_error"] is None

    source.sent("a", ids[:3], now)
    source.sent("c", ids[3:], now)
    done = rows(engine)
    assert all(r["sent_at"] == now and r["locked_by"] is None for r in done.values())
    assert source.claim("d", 10, lease) == [], "sent rows are never claimed again"


def test_relays_claiming_at_the_same_time_never_share_a_row(
    engine: sa.Engine, source: SQLAlchemySource
) -> None:
    ids = enqueue_many(engine, 300)
    lease = datetime.now(UTC) + timedelta(seconds=60)

    def drain(owner: str) -> list[str]:
        mine: list[str] = []
        while batch := source.claim(owner, 7, lease):
            mine += [p.id for p in batch]
        return mine

    with ThreadPoolExecutor(4) as pool:
        claims = list(pool.map(drain, ["a", "b", "c", "d"]))
    every = [row_id for claim in claims for row_id in claim]
    assert sorted(every) == sorted(ids), "each row claimed exactly once"
    owners = {r["id"]: r["locked_by"] for r in rows(engine).values()}
    for owner, claim in zip("abcd", claims, strict=True):
        assert all(owners[row_id] == owner for row_id in claim)


def test_on_sqlite_without_returning_a_claim_reads_its_rows_back(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    engine.dialect.update_returning = False  # as on SQLite before 3.35
    try:
        create_table(engine)
        ids = enqueue_many(engine, 5)
        source = SQLAlchemySource(engine)
        first = source.claim("a", 3, datetime.now(UTC) + timedelta(seconds=60))
        again = source.claim("a", 3, datetime.now(UTC) + timedelta(seconds=61))
        assert [p.id for p in first] == ids[:3] and [p.id for p in again] == ids[3:]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_on_postgresql_a_claim_skips_the_rows_others_hold(postgres_app_url: str) -> None:
    # Waiting for a lock would fail after 2 s instead of passing late.
    engine = create_engine(postgres_app_url, connect_args={"options": "-c lock_timeout=2000"})
    try:
        create_table(engine)
        ids = enqueue_many(engine, 4)
        lease = datetime.now(UTC) + timedelta(seconds=60)
        with engine.connect() as other, other.begin():
            held = sa.select(outbox.c.id).where(outbox.c.id.in_(ids[:2])).with_for_update()
            other.execute(held).all()
            claimed = SQLAlchemySource(engine).claim("a", 10, lease)
        assert [p.id for p in claimed] == ids[2:]
    finally:
        engine.dispose()


def test_a_retried_row_waits_for_its_own_due_time(
    engine: sa.Engine, source: SQLAlchemySource
) -> None:
    soon, later = enqueue_many(engine, 2)
    lease = datetime.now(UTC) + timedelta(seconds=60)
    source.claim("a", 10, lease)
    now = datetime.now(UTC)
    source.retry("a", {soon: now - timedelta(seconds=1), later: now + timedelta(hours=1)}, "down")
    found = rows(engine)
    assert found[later]["next_attempt_at"] == now + timedelta(hours=1)
    assert {found[soon]["attempts"], found[later]["attempts"]} == {1}
    assert found[soon]["last_error"] == "down" and found[soon]["locked_by"] is None
    assert [p.id for p in source.claim("b", 10, lease)] == [soon]


def test_refused_rows_are_set_aside_with_the_reason_and_requeued(
    engine: sa.Engine, source: SQLAlchemySource, hookline: Hookline, ws: str
) -> None:
    name = f"invoice.paid.{uuid.uuid4().hex[:8]}"
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    with hookline.api() as api:
        api.post("/v1/event-types", {"name": name, "schema": schema}, status=201)
    with engine.begin() as conn:
        good = [enqueue(conn, name, {"n": n}, workspace_id=ws) for n in range(2)]
        bad = enqueue(conn, name, {"n": "not a number"}, workspace_id=ws)
        good.append(enqueue(conn, name, {"n": 3}, workspace_id=ws))

    with Client(hookline.base_url, ADMIN_KEY) as client:
        report = Relay(source, client).run_once()
    assert (report.sent, report.retried, report.refused) == (3, 0, 1)
    found = rows(engine)
    assert found[bad]["refused_at"] is not None and found[bad]["sent_at"] is None
    assert "422 schema_violation" in found[bad]["last_error"]
    assert all(found[i]["sent_at"] is not None for i in good)
    with hookline.api() as api:
        assert {e["id"] for e in api.get(f"/v1/workspaces/{ws}/events")} == set(good)
        api.patch(f"/v1/event-types/{name}", {"schema": {"type": "object"}})

    assert source.requeue_refused() == 1
    assert source.requeue_refused() == 0
    with Client(hookline.base_url, ADMIN_KEY) as client:
        assert Relay(source, client).run_once().sent == 1
    assert rows(engine)[bad]["sent_at"] is not None


def test_rows_without_any_workspace_are_refused(
    engine: sa.Engine, source: SQLAlchemySource, hookline: Hookline, ws: str
) -> None:
    (orphan,) = enqueue_many(engine, 1)
    (placed,) = enqueue_many(engine, 1, workspace_id=ws)
    with Client(hookline.base_url, ADMIN_KEY) as client:
        report = Relay(source, client).run_once()
    assert (report.sent, report.refused) == (1, 1)
    assert "no workspace" in rows(engine)[orphan]["last_error"]
    assert rows(engine)[placed]["sent_at"] is not None


def test_while_hookline_is_down_rows_wait_and_nothing_is_marked_sent(
    engine: sa.Engine, source: SQLAlchemySource
) -> None:
    ids = enqueue_many(engine, 3, workspace_id="ws_a")
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with Client(nowhere, ADMIN_KEY, retries=Retries(attempts=0)) as client:
        before = datetime.now(UTC)
        report = Relay(source, client).run_once()
        assert (report.sent, report.retried) == (0, 3)
        assert Relay(source, client).run_once().claimed == 0, "not due again yet"
    found = rows(engine)
    for row_id in ids:
        row = found[row_id]
        assert row["sent_at"] is None and row["refused_at"] is None
        assert row["attempts"] == 1 and row["locked_by"] is None
        assert row["next_attempt_at"] > before
        assert "127.0.0.1" in row["last_error"]


def test_create_table_is_idempotent(engine: sa.Engine) -> None:
    create_table(engine)
    enqueue_many(engine, 1)
    create_table(engine)
    assert len(rows(engine)) == 1


def test_the_alembic_migration_makes_the_table(app_url: str) -> None:
    engine = create_engine(app_url)
    try:
        with engine.begin() as conn:
            outbox_migration.upgrade(Operations(MigrationContext.configure(conn)))
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, outbox.metadata) == []
        (row_id,) = enqueue_many(engine, 1)
        assert SQLAlchemySource(engine).claim("a", 1, datetime.now(UTC))[0].id == row_id
        with engine.begin() as conn:
            outbox_migration.downgrade(Operations(MigrationContext.configure(conn)))
        assert not sa.inspect(engine).has_table("hookline_outbox")
    finally:
        engine.dispose()


def relay_command(app_url: str, *args: str, hookline_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hookline", "relay", "--database-url", app_url, *args],
        env={"HOOKLINE_URL": hookline_url, "HOOKLINE_API_KEY": ADMIN_KEY, "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_relay_once_and_requeue_from_the_command_line(
    app_url: str, hookline: Hookline, ws: str
) -> None:
    missing = relay_command(app_url, "--once", hookline_url=hookline.base_url)
    assert missing.returncode == 1 and "--create-table" in missing.stderr

    created = relay_command(app_url, "--once", "--create-table", hookline_url=hookline.base_url)
    assert created.returncode == 0, created.stderr
    engine = create_engine(app_url)
    try:
        ids = enqueue_many(engine, 3)
        sent = relay_command(app_url, "--once", "-w", ws, hookline_url=hookline.base_url)
        assert sent.returncode == 0, sent.stderr
        assert "3 sent, 0 retried, 0 refused" in sent.stderr
        assert all(rows(engine)[i]["sent_at"] is not None for i in ids)

        (orphan,) = enqueue_many(engine, 1)
        refused = relay_command(app_url, "--once", hookline_url=hookline.base_url)
        assert refused.returncode == 0 and "0 sent, 0 retried, 1 refused" in refused.stderr
        requeued = relay_command(app_url, "--requeue-refused", hookline_url=hookline.base_url)
        assert requeued.returncode == 0 and "1 refused row(s) back" in requeued.stdout
        down = relay_command(app_url, "--once", "-w", ws, hookline_url="http://127.0.0.1:9")
        assert down.returncode == 3 and "0 sent, 1 retried" in down.stderr
        assert rows(engine)[orphan]["attempts"] == 1
    finally:
        engine.dispose()


def test_the_relay_says_what_is_wrong_with_its_database_url(tmp_path: Path) -> None:
    bad = relay_command("not a url", hookline_url="http://127.0.0.1:9")
    assert bad.returncode == 2 and "not a database URL" in bad.stderr
    nowhere = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"
    unreachable = relay_command(nowhere, hookline_url="http://127.0.0.1:9")
    assert unreachable.returncode == 1 and "cannot use" in unreachable.stderr


def test_the_relay_asks_for_a_key_and_for_sqlalchemy(tmp_path: Path) -> None:
    app = f"sqlite:///{tmp_path / 'app.db'}"
    no_key = subprocess.run(
        [sys.executable, "-m", "hookline", "relay", "--database-url", app, "--create-table"],
        env={"PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert no_key.returncode == 2 and "HOOKLINE_API_KEY" in no_key.stderr
    # As if the sqlalchemy extra were not installed: importing it fails.
    without = "import sys; sys.modules['sqlalchemy'] = None; from hookline.cli import main; main()"
    missing = subprocess.run(
        [sys.executable, "-c", without, "relay", "--database-url", app],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1
    assert "pip install 'hookline[sqlalchemy]'" in missing.stderr
