"""What only the PostgreSQL adapter has: its schema against SQLite's, several worker
processes claiming at once, LISTEN/NOTIFY, and surviving lost connections.

The contract itself runs on both backends in test_store.py and test_queue.py.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from test_store import (
    LEASE,
    T0,
    add_webhook,
    add_workspace,
    an_event,
    claim_one,
    deliveries,
    publish,
    to,
)

from hookline.domain.models import Attempt, DeliveryStatus, Webhook
from hookline.domain.statuses import WebhookStatus
from hookline.errors import Invalid, StorageUnavailable
from hookline.ids import new_id
from hookline.secrets import SecretBox
from hookline.settings import Settings
from hookline.store import open_store
from hookline.store.port import (
    AttemptRecord,
    Claim,
    Page,
    StatusChange,
    Store,
    WebhookChanges,
)
from hookline.store.postgres import PostgresStore, migrations
from hookline.store.sqlite import SqliteStore

pytestmark = pytest.mark.postgres

WAIT = 10.0  # seconds: the deadline of everything awaited here


@pytest.fixture
def backend() -> str:
    """Every test here runs on PostgreSQL only."""
    return "postgresql"


async def _server_pids(database: str, application: str) -> list[int]:
    """The server processes of the connections ``application`` has open to ``database``."""
    admin = await asyncpg.connect(database)
    try:
        rows = await admin.fetch(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = $1",
            application,
        )
        return [r["pid"] for r in rows]
    finally:
        await admin.close()


async def _kill(database: str, application: str) -> int:
    """Terminate the server side of every connection ``application`` has to ``database``."""
    admin = await asyncpg.connect(database)
    try:
        killed: int = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = $1",
            application,
        )
        return killed
    finally:
        await admin.close()


# -- schema ------------------------------------------------------------------------


def _columns(rows: list[tuple[str, str]]) -> dict[str, set[str]]:
    tables: dict[str, set[str]] = defaultdict(set)
    for table, column in rows:
        tables[table].add(column)
    return dict(tables)


@pytest.mark.empty_database
async def test_a_fresh_migrate_has_every_table_and_column_of_the_sqlite_schema(
    store_factory: Callable[[], Store], database: str, tmp_path: Path, box: SecretBox
) -> None:
    pg = store_factory()
    assert await pg.migrate() == [name.removesuffix(".sql") for name, _ in migrations.scripts()]
    lite = SqliteStore(tmp_path / "reference.db", box=box)
    try:
        await lite.migrate()
    finally:
        await lite.close()

    reference = sqlite3.connect(tmp_path / "reference.db")
    try:
        tables = [
            r[0]
            for r in reference.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        expected = _columns(
            [
                (table, row[1])
                for table in tables
                for row in reference.execute(f"PRAGMA table_info({table})")
            ]
        )
    finally:
        reference.close()

    conn = await asyncpg.connect(database)
    try:
        rows = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND NOT EXISTS (SELECT 1 FROM pg_inherits "
            "WHERE inhrelid = format('%I', table_name)::regclass)"  # attempts' partitions
        )
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")]
    finally:
        await conn.close()
    assert _columns([(r["table_name"], r["column_name"]) for r in rows]) == expected
    assert sorted(versions) == [name for name, _ in migrations.scripts()]


async def test_ids_order_byte_wise_whatever_the_server_locale(store: Store) -> None:
    await add_workspace(store, "acme")
    # Under a linguistic collation "_" and "~" would sort among the letters and digits.
    for ws_id in ["a_b", "a~b", "aBc", "a-b", "A_b"]:
        await add_webhook(store, "acme", id=f"wh_{ws_id}")
    page = await store.list_webhooks("acme", status=None, limit=10, cursor=None)
    ids = [w.id for w in page.items]
    assert ids == sorted(ids, reverse=True)


# -- several workers ---------------------------------------------------------------


def _done(claim: Claim) -> AttemptRecord:
    attempt = Attempt(
        id=new_id("att"),
        delivery_id=claim.delivery_id,
        number=claim.attempt,
        started_at=T0,
        duration_ms=1.0,
        request={"method": "POST", "url": claim.webhook.url, "headers": {}, "body": "{}"},
        response={"status": 200, "headers": {}, "body": "", "truncated": False},
        error=None,
        outcome="success",
    )
    return AttemptRecord(
        attempt=attempt,
        webhook_id=claim.webhook.id,
        status=DeliveryStatus.SUCCEEDED.value,
        next_attempt_at=None,
        status_code=200,
        error=None,
        completed_at=T0,
    )


async def _workers(store_factory: Callable[[], Store], n: int) -> list[Store]:
    stores = [store_factory() for _ in range(n)]
    for s in stores:
        await s.open()
    return stores


async def test_concurrent_workers_never_claim_one_delivery_twice(
    store_factory: Callable[[], Store],
) -> None:
    workers = await _workers(store_factory, 4)
    first = workers[0]
    await add_workspace(first)
    hooks = [await add_webhook(first) for _ in range(5)]
    await first.insert_events([to(an_event(), *hooks) for _ in range(80)])  # 400 deliveries

    claimed: list[str] = []

    async def work(store: Store, owner: str) -> None:
        while batch := await store.claim_due(owner, limit=9, now=T0, lease_ms=LEASE):
            claimed.extend(c.delivery_id for c in batch)
            await store.record_attempts(owner, [_done(c) for c in batch])

    async with asyncio.timeout(WAIT):
        await asyncio.gather(*(work(s, f"w{n}") for n, s in enumerate(workers)))
    assert len(claimed) == len(set(claimed)) == 400
    assert {d.status for d in await deliveries(first)} == {DeliveryStatus.SUCCEEDED}


async def test_a_recorded_batch_is_one_statement_however_many_records(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attempts and decisions of finished deliveries are written in one statement per batch
    (arrays), not one per record, and without BEGIN and COMMIT around it: counted on the
    connection, as the server executes them (executemany: a row each)."""
    await add_workspace(store)
    hooks = [await add_webhook(store) for _ in range(4)]
    await store.insert_events([to(an_event(), *hooks) for _ in range(25)])  # 100 deliveries
    executed = 0

    def counting(name: str) -> None:
        real = getattr(asyncpg.Connection, name)

        async def spy(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            nonlocal executed
            executed += len(args[0]) if name == "executemany" else 1
            return await real(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, name, spy)

    for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
        counting(name)
    for size in (1, 99):
        batch = await store.claim_due("w", limit=size, now=T0, lease_ms=LEASE)
        assert len(batch) == size
        executed = 0
        await store.record_attempts("w", [_done(c) for c in batch])
        assert executed == 1, f"{executed} statements for a batch of {size}"
    assert {d.status for d in await deliveries(store)} == {DeliveryStatus.SUCCEEDED}


async def test_fifo_and_rate_limits_hold_across_workers(
    store_factory: Callable[[], Store],
) -> None:
    """Four workers claim at the same instants of a simulated clock, 25 ms apart."""
    workers = await _workers(store_factory, 4)
    first = workers[0]
    await add_workspace(first, plan="pro")
    fifo = await add_webhook(first, ordering="fifo")
    limited = await add_webhook(first, rate_limit=10)  # one attempt per 100 ms
    plain = await add_webhook(first)
    events = [an_event(created_at=T0) for _ in range(12)]
    await first.insert_events([to(e, fifo, limited, plain) for e in events])

    got: dict[str, list[tuple[int, Claim]]] = defaultdict(list)
    for now in itertools.count(T0, 25):
        if now > T0 + 2_000:
            break
        batches = await asyncio.gather(
            *(s.claim_due(f"w{n}", limit=5, now=now, lease_ms=LEASE) for n, s in enumerate(workers))
        )
        in_flight: Counter[str] = Counter()
        for n, batch in enumerate(batches):
            for c in batch:
                got[c.webhook.id].append((now, c))
                in_flight[c.webhook.id] += 1
            await workers[n].record_attempts(f"w{n}", [_done(c) for c in batch])
        assert in_flight[fifo.id] <= 1, "two FIFO deliveries in flight at once"
        if sum(len(v) for v in got.values()) == 36:
            break

    ids = [c.delivery_id for claims in got.values() for _, c in claims]
    assert len(ids) == len(set(ids)) == 36
    assert [c.event.id for _, c in got[fifo.id]] == [e.id for e in events]
    stamps = [now for now, _ in got[limited.id]]
    assert all(b - a >= 100 for a, b in itertools.pairwise(stamps)), stamps
    assert stamps[-1] - stamps[0] == 1_100  # no slower than the rate either
    assert len(got[plain.id]) == 12


async def test_ingest_racing_a_pause_leaves_nothing_pending(
    store_factory: Callable[[], Store],
) -> None:
    api, admin = await _workers(store_factory, 2)
    await add_workspace(api, plan="pro")
    hooks = [await add_webhook(api) for _ in range(8)]

    async def pause(wh: Webhook) -> None:
        change = StatusChange(status=WebhookStatus.PAUSED, reason=None, by="k", at=T0)
        await admin.update_webhook(wh.id, WebhookChanges(status=change), T0)

    for wh in hooks:
        batch = [to(an_event(), wh) for _ in range(20)]
        await asyncio.gather(api.insert_events(batch), pause(wh))
        assert {d.status for d in await deliveries(api, webhook_id=wh.id)} == {DeliveryStatus.HELD}


# -- LISTEN/NOTIFY -----------------------------------------------------------------


class Wakes:
    """A ``wake`` callback that counts its calls and can be awaited."""

    def __init__(self) -> None:
        self.count = 0
        self._event = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self._event.set()

    async def next(self) -> None:
        async with asyncio.timeout(WAIT):
            await self._event.wait()
        self._event.clear()


async def _prepare(store: Store, action: str) -> Callable[[], Awaitable[Any]]:
    """Set ``store`` up for ``action`` (quietly); return the action, which creates due work."""
    await add_workspace(store)
    wh = await add_webhook(store)
    if action == "insert":
        return lambda: publish(store, wh)
    if action == "test":
        return lambda: store.insert_test_delivery(an_event(type="test"), wh.id, new_id("dlv"))
    if action == "resume":
        paused = StatusChange(status=WebhookStatus.PAUSED, reason=None, by="k", at=T0)
        await store.update_webhook(wh.id, WebhookChanges(status=paused), T0)
        await publish(store, wh)  # held
        active = StatusChange(status=WebhookStatus.ACTIVE, reason=None, by="k", at=T0)
        return lambda: store.update_webhook(wh.id, WebhookChanges(status=active), T0)
    inserted = await publish(store, wh)
    if action == "resend":
        (dlv,) = await store.list_event_deliveries("acme", inserted.event.id)
        return lambda: store.resend([dlv.id], new_ids=[new_id("dlv")], tag="resent", now=T0)
    claim = await claim_one(store, "A")
    if action == "release":
        return lambda: store.release("A", [claim.delivery_id])
    assert action == "reclaim"
    return lambda: store.reclaim_expired(T0 + LEASE + 1)


@pytest.mark.parametrize("action", ["insert", "resend", "test", "resume", "release", "reclaim"])
async def test_work_created_in_one_process_wakes_the_others(
    store_factory: Callable[[], Store], action: str
) -> None:
    listening, acting = await _workers(store_factory, 2)
    act = await _prepare(acting, action)
    wakes = Wakes()
    await listening.listen_for_work(wakes)
    assert wakes.count == 0  # what happened before listening is not announced
    await act()
    await wakes.next()


async def test_a_lost_listening_connection_comes_back_and_wakes(
    store_factory: Callable[[], Store], database: str
) -> None:
    listening, acting = await _workers(store_factory, 2)
    await add_workspace(acting)
    wh = await add_webhook(acting)
    wakes = Wakes()
    await listening.listen_for_work(wakes)

    assert await _kill(database, "hookline-listen") == 1
    # Back by itself: it reconnects and wakes (a notification may have been missed).
    await wakes.next()
    await publish(acting, wh)
    await wakes.next()
    # And ping() re-establishes it too.
    assert await _kill(database, "hookline-listen") == 1
    await listening.ping()
    assert len(await _server_pids(database, "hookline-listen")) == 1


async def test_listening_to_an_unreachable_server_does_not_fail_and_closes_cleanly(
    box: SecretBox,
) -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:1/nowhere", box=box)
    wakes = Wakes()
    await store.listen_for_work(wakes)  # keeps trying in the background
    await store.close()
    assert wakes.count == 0


# -- lost connections --------------------------------------------------------------


async def test_reads_survive_lost_connections_and_writes_recover(
    store: Store, database: str
) -> None:
    await add_workspace(store)
    # Three pooled connections, all about to be killed.
    await asyncio.gather(*(store.get_workspace("acme") for _ in range(3)))
    assert await _kill(database, "hookline") >= 1

    ws = await store.get_workspace("acme")
    assert ws is not None and ws.id == "acme"
    await store.ping()

    await asyncio.gather(*(store.get_workspace("acme") for _ in range(3)))
    assert await _kill(database, "hookline") >= 1
    try:
        await add_workspace(store, "second")
    except StorageUnavailable:  # a write on a lost connection is not retried: it may have committed
        await add_workspace(store, "second")  # the caller's retry
    assert await store.get_workspace("second") is not None


# -- text PostgreSQL cannot hold ----------------------------------------------------


async def test_nul_in_text_finds_nothing_and_is_invalid_to_store(store: Store) -> None:
    await add_workspace(store)
    wh = await add_webhook(store)
    assert await store.get_webhook(wh.id + "\x00") is None
    assert await store.get_webhook_secret("\x00") is None
    assert await store.list_workspaces(ids=["acme\x00"], limit=10, cursor=None) == Page(
        items=[], next_cursor=None
    )
    assert await deliveries(store, workspace_id="acme", q="a\x00") == []
    with pytest.raises(Invalid):
        await add_workspace(store, "nul", name="a\x00b")
    assert await store.get_workspace("nul") is None


# -- wiring ------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_open_store_picks_postgres_and_masks_the_password(scheme: str, box: SecretBox) -> None:
    settings = Settings(database_url=f"{scheme}://hook:s3cret@db.internal:5432/hookline")
    store = open_store(settings, box)
    assert isinstance(store, PostgresStore)
    assert "s3cret" not in repr(store)
    assert repr(store) == f"PostgresStore('{scheme}://hook:***@db.internal:5432/hookline')"
