"""The Dispatcher in-process, on a real SQLite store (PostgreSQL too where a test takes the
``database`` fixture), against receivers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from aiohttp import web
from cryptography.fernet import Fernet
from pydantic import SecretStr
from support.polling import eventually
from support.receiver import HANG, Receiver

from hookline.dispatch.dispatcher import Dispatcher
from hookline.dispatch.sender import AiohttpTransport, make_session
from hookline.dispatch.transport import Transport
from hookline.domain.models import Delivery
from hookline.domain.retry import MAX_TIMEOUT
from hookline.domain.scheduling import FIRST_WINDOW
from hookline.domain.webhook_commands import parse_create
from hookline.ids import now_ms
from hookline.secrets import SecretBox
from hookline.server import dispatcher_for
from hookline.service import Context, Services
from hookline.service.access import ADMIN
from hookline.settings import Settings
from hookline.store import open_store
from hookline.store.port import DeliveryFilter

STOP_TIMEOUT = 15.0


class Rig:
    """A store, the services over it and a dispatcher, with settings for the test."""

    def __init__(self, tmp_path: Path, **overrides: Any) -> None:
        key = Fernet.generate_key().decode()
        self.settings = Settings(
            dev=True,
            data_dir=tmp_path,
            encryption_key=SecretStr(key),
            admin_key=SecretStr("hk_admin_test"),
            poll_interval=0.05,
            **overrides,
        )
        box = SecretBox(key)
        self.store = open_store(self.settings, box)
        self.ctx = Context.build(self.settings, self.store, box)
        self.svc = Services(self.ctx)
        self.dispatcher: Dispatcher | None = None
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await self.store.open()

    def start(self, transport: Transport | None = None) -> Dispatcher:
        self.dispatcher = dispatcher_for(self.ctx, transport=transport)
        self.ctx.wake = self.dispatcher.wake
        self._task = asyncio.create_task(self.dispatcher.run())
        return self.dispatcher

    async def stop(self) -> None:
        """Stop the dispatcher and wait for it (at most ``STOP_TIMEOUT``: it drains)."""
        if self.dispatcher is not None and self._task is not None:
            self.dispatcher.stop()
            async with asyncio.timeout(STOP_TIMEOUT):
                await self._task
        self.dispatcher = self._task = None

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            await self.stop()
        await self.store.close()

    # -- setup through the service layer --------------------------------------

    async def workspace(self) -> str:
        ws = await self.svc.workspaces.create(ADMIN, {"name": "dispatch", "plan": "pro"})
        return ws.id

    async def webhook(self, ws_id: str, url: str, **fields: Any) -> str:
        wh = await self.svc.webhooks.create(
            ADMIN, ws_id, parse_create({"url": url, "events": ["*"], **fields})
        )
        return wh.id

    async def send(self, ws_id: str, count: int = 1, type: str = "job.done") -> list[str]:
        events = [{"type": type, "data": {"n": n}} for n in range(count)]
        results = await self.svc.events.ingest_batch(
            ADMIN, ws_id, json.dumps({"events": events}).encode()
        )
        ids = []
        for result in results:
            assert not isinstance(result, Exception), result
            ids.append(result.event.id)
        return ids

    async def deliveries(self, ws_id: str, status: str | None = None) -> list[Delivery]:
        found: list[Delivery] = []
        cursor = None
        while True:
            page = await self.store.list_deliveries(
                DeliveryFilter(workspace_id=ws_id, status=status), limit=250, cursor=cursor
            )
            found += page.items
            cursor = page.next_cursor
            if cursor is None:
                return found

    async def settled(self, ws_id: str, count: int, *, timeout: float = 15.0) -> list[Delivery]:
        return await eventually(
            lambda: self.deliveries(ws_id, "succeeded"),
            lambda done: len(done) >= count,
            timeout=timeout,
            what=f"{count} deliveries succeeded",
        )

    def lease_until(self, dlv_id: str) -> int | None:
        """Peek at the lease column through a separate read-only connection."""
        uri = f"file:{self.settings.sqlite_path}?mode=ro"
        with sqlite3.connect(uri, uri=True) as conn:
            row = conn.execute("SELECT lease_until FROM deliveries WHERE id = ?", (dlv_id,))
            value = row.fetchone()[0]
        conn.close()
        return None if value is None else int(value)


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Rig]]]:
    made: list[Rig] = []

    async def make(**overrides: Any) -> Rig:
        rig = Rig(tmp_path / f"rig{len(made)}", **overrides)
        made.append(rig)
        await rig.open()
        return rig

    yield make
    for rig in made:
        await rig.close()


async def test_group_commit_records_every_attempt(
    rigs: Callable[..., Awaitable[Rig]], receiver: Receiver
) -> None:
    rig = await rigs()
    ws = await rig.workspace()
    await rig.webhook(ws, receiver.endpoint(path="/a").url)
    await rig.webhook(ws, receiver.endpoint(path="/b").url)
    await rig.send(ws, 300)
    batches: list[int] = []
    record = rig.store.record_attempts

    async def spy(owner: str, records: list[Any]) -> list[str]:
        batches.append(len(records))
        return await record(owner, records)

    rig.store.record_attempts = spy  # type: ignore[method-assign]

    started = time.monotonic()
    rig.start()
    done = await rig.settled(ws, 600)
    took = time.monotonic() - started
    await rig.stop()

    assert len(done) == 600
    assert sum(batches) == 600
    assert max(batches) > 1, "attempts were committed one by one"
    assert len(batches) < 300
    assert all(d.attempt_count == 1 and d.last_status_code == 200 for d in done)
    assert len(receiver.requests) == 600
    assert len({(r.path, r.delivery) for r in receiver.requests}) == 600
    for dlv in done[::37]:
        (attempt,) = await rig.store.list_attempts(dlv.id)
        assert attempt.number == 1
        assert attempt.outcome == "success"
    print(f"\n{600 / took:.0f} deliveries/s ({took:.2f} s for 600)")


async def test_leases_are_renewed_while_a_slow_attempt_runs(
    rigs: Callable[..., Awaitable[Rig]], receiver: Receiver
) -> None:
    rig = await rigs(lease_seconds=0.5)
    ws = await rig.workspace()
    slow = receiver.endpoint(path="/slow", default=HANG)
    await rig.webhook(ws, slow.url, retryPolicy={"timeout": 10})
    await rig.send(ws)
    (dlv,) = await rig.deliveries(ws)

    rig.start()
    await slow.arrived(1)
    first = rig.lease_until(dlv.id)
    assert first is not None
    # Three lease lengths later the lease still lies ahead and was pushed forward.
    renewed = await eventually(
        lambda: asyncio.sleep(0.05, rig.lease_until(dlv.id)),
        lambda until: until is not None and until >= first + 1000,
        what="lease renewed past 1 s",
    )
    assert renewed is not None and renewed > now_ms()
    assert await rig.store.reclaim_expired(now_ms()) == 0
    sending = await rig.store.get_delivery(dlv.id)
    assert sending is not None and sending.status == "sending"

    receiver.release()
    (finished,) = await rig.settled(ws, 1)
    await rig.stop()

    assert finished.attempt_count == 1
    assert receiver.count("/slow") == 1, "the delivery was retaken while in flight"
    assert rig.lease_until(dlv.id) is None


async def test_stop_drains_attempts_in_flight(
    rigs: Callable[..., Awaitable[Rig]], receiver: Receiver
) -> None:
    async def slowish(request: web.BaseRequest) -> web.StreamResponse:
        await asyncio.sleep(0.3)
        return web.Response(text="ok")

    rig = await rigs(shutdown_grace=5)
    ws = await rig.workspace()
    endpoint = receiver.endpoint(path="/slowish", handler=slowish)
    await rig.webhook(ws, endpoint.url)
    await rig.send(ws, 5)
    session = make_session(open_network=True, allowed=(), limit=10)
    rig.start(AiohttpTransport(session, open_network=True))
    await endpoint.arrived(5)

    stopping = time.monotonic()
    await rig.stop()

    assert time.monotonic() - stopping < 3
    done = await rig.deliveries(ws, "succeeded")
    assert len(done) == 5
    assert all(d.attempt_count == 1 for d in done)
    assert session.closed  # the dispatcher closes the transport it sends through


async def test_stop_past_the_grace_releases_attempts_and_nothing_is_lost(
    rigs: Callable[..., Awaitable[Rig]], receiver: Receiver
) -> None:
    rig = await rigs(shutdown_grace=0.2)
    ws = await rig.workspace()
    stuck = receiver.endpoint(path="/stuck", default=HANG)
    await rig.webhook(ws, stuck.url)
    await rig.send(ws)
    rig.start()
    await stuck.arrived(1)

    stopping = time.monotonic()
    await rig.stop()

    assert time.monotonic() - stopping < 2
    (dlv,) = await rig.deliveries(ws)
    assert dlv.status == "pending"
    assert dlv.attempt_count == 0
    assert await rig.store.list_attempts(dlv.id) == []
    assert rig.lease_until(dlv.id) is None

    receiver.release()
    rig.start()
    (done,) = await rig.settled(ws, 1)
    await rig.stop()
    assert done.attempt_count == 1
    assert receiver.count("/stuck") == 2


async def test_stop_without_work_returns_at_once(rigs: Callable[..., Awaitable[Rig]]) -> None:
    rig = await rigs()
    rig.start()
    await asyncio.sleep(0)
    stopping = time.monotonic()
    await rig.stop()
    assert time.monotonic() - stopping < 1


async def test_a_failed_group_commit_is_retried(
    rigs: Callable[..., Awaitable[Rig]], receiver: Receiver
) -> None:
    rig = await rigs()
    ws = await rig.workspace()
    await rig.webhook(ws, receiver.endpoint(path="/a").url)
    await rig.send(ws, 3)
    record = rig.store.record_attempts
    failures = [sqlite3.OperationalError("database is locked")]

    async def flaky(owner: str, records: list[Any]) -> list[str]:
        if failures:
            raise failures.pop()
        return await record(owner, records)

    rig.store.record_attempts = flaky  # type: ignore[method-assign]
    rig.start()
    done = await rig.settled(ws, 3)
    await rig.stop()

    assert failures == []
    assert [d.attempt_count for d in done] == [1, 1, 1]
    assert receiver.count("/a") == 3


async def test_a_webhook_deleted_mid_attempt_does_not_block_other_records(
    rigs: Callable[..., Awaitable[Rig]], receiver: Receiver
) -> None:
    rig = await rigs(shutdown_grace=5)
    ws = await rig.workspace()
    held = receiver.endpoint(path="/doomed", default=HANG)
    doomed = await rig.webhook(ws, held.url, events=["doomed"])
    await rig.webhook(ws, receiver.endpoint(path="/fine").url, events=["fine"])
    await rig.send(ws, type="doomed")
    rig.start()
    await held.arrived(1)

    await rig.svc.webhooks.delete(ADMIN, doomed)
    receiver.release()  # its attempt finishes; its delivery no longer exists
    await rig.send(ws, 2, type="fine")

    done = await rig.settled(ws, 2, timeout=5)
    assert {d.event_type for d in done} == {"fine"}
    async with asyncio.timeout(5):
        await rig.stop()


async def test_a_saturated_endpoint_does_not_make_the_claim_loop_spin(
    rigs: Callable[..., Awaitable[Rig]], receiver: Receiver
) -> None:
    rig = await rigs(endpoint_concurrency=2, claim_batch=4, worker_concurrency=8)
    ws = await rig.workspace()
    slow = receiver.endpoint(path="/slow", default=HANG)
    await rig.webhook(ws, slow.url)
    await rig.send(ws, 10)
    claims = 0
    claim = rig.store.claim_due

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal claims
        claims += 1
        return await claim(*args, **kwargs)

    rig.store.claim_due = counting  # type: ignore[method-assign]
    rig.start()
    await slow.arrived(2)
    before = claims
    await asyncio.sleep(0.5)  # measuring the claim rate while saturated, not synchronizing

    assert receiver.count("/slow") == 2  # its concurrency, no more
    assert claims - before <= 15, f"{claims - before} claim queries in 0.5 s while saturated"
    receiver.release()
    await rig.settled(ws, 10)
    await rig.stop()


async def test_a_slow_endpoint_does_not_starve_others(
    rigs: Callable[..., Awaitable[Rig]], receiver: Receiver
) -> None:
    rig = await rigs(endpoint_concurrency=2, claim_batch=4, worker_concurrency=8)
    ws = await rig.workspace()
    await rig.webhook(ws, receiver.endpoint(path="/slow", default=HANG).url, events=["slow"])
    fast = receiver.endpoint(path="/fast")
    await rig.webhook(ws, fast.url, events=["fast"])
    await rig.send(ws, 10, type="slow")  # older than the fast one, so first in the queue
    await rig.send(ws, 1, type="fast")
    rig.start()

    await fast.arrived(1, timeout=1.5)
    assert receiver.count("/slow") == 2
    receiver.release()
    await rig.settled(ws, 11)
    await rig.stop()


@pytest.mark.parametrize(
    ("share", "b_waits"), [(0.5, False), (1.0, True)], ids=["share", "no-share"]
)
async def test_a_workspace_of_hanging_endpoints_leaves_slots_to_the_others(
    rigs: Callable[..., Awaitable[Rig]],
    receiver: Receiver,
    database: str,
    share: float,
    b_waits: bool,
) -> None:
    """Workspace A's many webhooks hang: with a share A holds half the worker's slots and B's
    delivery goes at once; without one A holds them all and B waits for A."""
    rig = await rigs(
        database_url=database,
        worker_concurrency=8,
        endpoint_concurrency=2,
        claim_batch=8,
        workspace_share=share,
    )
    a = await rig.workspace()
    for n in range(6):
        await rig.webhook(a, receiver.endpoint(path=f"/a{n}", default=HANG).url)
    await rig.send(a, 3)  # 18 deliveries, older than B's: first in the queue
    b = await rig.workspace()
    b_endpoint = receiver.endpoint(path="/b")
    await rig.webhook(b, b_endpoint.url)
    rig.start()

    async def hanging() -> int:
        return sum(1 for r in receiver.requests if r.path.startswith("/a"))

    held = await eventually(hanging, lambda n: n >= 8 * share, what=f"A holding {8 * share:g}")
    await rig.send(b)
    if b_waits:
        with pytest.raises(TimeoutError):
            await b_endpoint.arrived(1, timeout=1.0)
    else:
        await b_endpoint.arrived(1, timeout=5.0)
    assert held == await hanging() == 8 * share  # A never held more than its share
    receiver.release()
    await rig.settled(b, 1)
    await rig.stop()


async def test_a_hanging_endpoint_holds_few_of_its_workspace_slots(
    rigs: Callable[..., Awaitable[Rig]], receiver: Receiver, database: str
) -> None:
    """On each backend, one workspace: a hanging endpoint whose backlog is first in the queue,
    and four healthy ones. Its cap is the workspace's whole share, yet every healthy delivery
    arrives and succeeds while its first attempts are still held: an endpoint whose attempts
    have not ended holds its first window of slots, not its cap."""
    rig = await rigs(
        database_url=database,
        worker_concurrency=8,
        endpoint_concurrency=4,
        claim_batch=8,
        workspace_share=0.5,
    )
    ws = await rig.workspace()
    hanging = receiver.endpoint(path="/iso/hang", default=HANG)
    await rig.webhook(ws, hanging.url, events=["stuck"], retryPolicy={"timeout": MAX_TIMEOUT})
    healthy = [receiver.endpoint(path=f"/iso/ok{n}") for n in range(4)]
    for endpoint in healthy:
        await rig.webhook(ws, endpoint.url, events=["fine"])
    await rig.send(ws, 8, type="stuck")  # older than the healthy ones: first in the queue
    await rig.send(ws, 10, type="fine")
    rig.start()

    done = await rig.settled(ws, 40)
    assert {d.event_type for d in done} == {"fine"}
    assert all(len(endpoint.requests) == 10 for endpoint in healthy)  # once each
    assert len(hanging.requests) == FIRST_WINDOW
    assert all(r.answered is None for r in hanging.requests)  # still held
    receiver.release()
    await rig.settled(ws, 48)
    await rig.stop()


async def test_sealed_custom_headers_are_sent_and_credentials_left_out_of_attempts(
    rigs: Callable[..., Awaitable[Rig]], receiver: Receiver, database: str
) -> None:
    """On each backend: the receiver gets the custom headers; the database holds neither the
    credential nor, in the attempt's record, its value ("[redacted]")."""
    got: list[dict[str, str]] = []

    async def record(request: web.BaseRequest) -> web.StreamResponse:
        got.append(dict(request.headers))
        return web.Response(text="ok")

    rig = await rigs(database_url=database)
    ws = await rig.workspace()
    headers = {"Authorization": "Bearer sekrit-123", "X-Tenant": "tenant-77"}
    await rig.webhook(ws, receiver.endpoint(path="/auth", handler=record).url, headers=headers)
    await rig.send(ws)
    rig.start()
    (dlv,) = await rig.settled(ws, 1)
    await rig.stop()

    (sent,) = got
    assert sent["Authorization"] == "Bearer sekrit-123"
    assert sent["X-Tenant"] == "tenant-77"
    (attempt,) = await rig.store.list_attempts(dlv.id)
    logged = attempt.request["headers"]
    assert logged["Authorization"] == "[redacted]"
    assert logged["X-Tenant"] == "tenant-77"
    assert logged["webhook-signature"] == sent["webhook-signature"]
    assert "sekrit-123" not in await _raw_database(database)


async def _raw_database(database: str) -> str:
    """Every webhook and attempt row, read past the store, as one text."""
    if database.startswith("sqlite:///"):
        with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
            rows = [
                *conn.execute("SELECT * FROM webhooks").fetchall(),
                *conn.execute("SELECT * FROM attempts").fetchall(),
            ]
        conn.close()
        return repr(rows)
    pg = await asyncpg.connect(database)
    try:
        found = await pg.fetch(
            "SELECT w::text FROM webhooks w UNION ALL SELECT a::text FROM attempts a"
        )
    finally:
        await pg.close()
    return repr([r[0] for r in found])
