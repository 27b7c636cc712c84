"""Faults of Hookline's own end no delivery: the dispatcher on both stores, a receiver on 127.0.0.1.

A secret the worker's key cannot open and a database that refuses the records
leave the delivery pending, unattempted, due again after a backoff, and counted
in ``hookline_internal_errors_total``; once the fault is gone it is delivered. A fault
that keeps coming back shows the delivery stuck (API, metric) and logs its traceback once.
A database out of space keeps the outcome of an attempt already made waiting in the
worker, written as soon as space is back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from cryptography.fernet import Fernet
from pydantic import SecretStr
from support.polling import eventually
from support.receiver import Receiver
from support.storage import PostgresFull

from hookline.api.app import create_app
from hookline.dispatch.dispatcher import Dispatcher
from hookline.dispatch.recorder import RECORD_TRIES
from hookline.dispatch.transport import OutboundRequest, SendResult, Transport
from hookline.domain.models import STUCK_AFTER_FAULTS, Delivery, DeliveryStatus
from hookline.domain.webhook_commands import parse_create
from hookline.ids import now_ms
from hookline.secrets import SecretBox
from hookline.server import dispatcher_for
from hookline.service import Context, Services
from hookline.service.access import ADMIN
from hookline.settings import Settings
from hookline.store.port import AttemptRecord, DeliveryFilter, Store
from hookline.store.postgres import PostgresStore
from hookline.store.sqlite import SqliteStore

# Seconds before the first retry after a fault: long enough to see the delivery wait.
FAULT_RETRY = 2.0
ADMIN_KEY = "hk_admin_test"


class Process:
    """One Hookline process's services (and, once started, its dispatcher) on a shared store."""

    def __init__(
        self, store: Store, data_dir: Path, key: str, *, fault_retry: float = FAULT_RETRY
    ) -> None:
        self.settings = Settings(
            dev=True,
            data_dir=data_dir,
            encryption_key=SecretStr(key),
            admin_key=SecretStr(ADMIN_KEY),
            poll_interval=0.05,
            fault_retry_seconds=fault_retry,
        )
        self.ctx = Context.build(self.settings, store, SecretBox(key))
        self.svc = Services(self.ctx)
        self.store = store
        self._dispatcher: Dispatcher | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, transport: Transport | None = None) -> None:
        self._dispatcher = dispatcher_for(self.ctx, transport=transport)
        self._task = asyncio.create_task(self._dispatcher.run())

    async def stop(self) -> None:
        if self._dispatcher is not None and self._task is not None:
            self._dispatcher.stop()
            await asyncio.wait_for(self._task, 15)
        self._dispatcher = self._task = None

    def internal_errors(self, stage: str) -> float:
        found = self.ctx.metrics.registry.get_sample_value(
            "hookline_internal_errors_total", {"stage": stage}
        )
        return found or 0.0

    async def one_delivery(
        self, url: str, *, type: str = "job.done", ws_id: str | None = None
    ) -> Delivery:
        """A webhook to ``url`` for events of ``type`` (in a new workspace unless given one)
        and one such event: its delivery."""
        if ws_id is None:
            ws_id = (await self.svc.workspaces.create(ADMIN, {"name": "faults", "plan": "pro"})).id
        wh = await self.svc.webhooks.create(
            ADMIN, ws_id, parse_create({"url": url, "events": [type]})
        )
        body = json.dumps({"events": [{"type": type, "data": {"n": 1}}]}).encode()
        (result,) = await self.svc.events.ingest_batch(ADMIN, ws_id, body)
        assert not isinstance(result, Exception), result
        page = await self.store.list_deliveries(
            DeliveryFilter(webhook_id=wh.id), limit=10, cursor=None
        )
        (dlv,) = page.items
        return dlv


async def delivery(store: Store, dlv_id: str) -> Delivery:
    found = await store.get_delivery(dlv_id)
    assert found is not None
    return found


async def deferred(store: Store, dlv_id: str, reason: str) -> Delivery:
    """The delivery once a fault has put it back in the queue, ``reason`` its last error."""
    return await eventually(
        lambda: delivery(store, dlv_id),
        lambda d: d.status is DeliveryStatus.PENDING and d.last_error == reason,
        what="the delivery deferred",
    )


async def succeeded(store: Store, dlv_id: str) -> Delivery:
    return await eventually(
        lambda: delivery(store, dlv_id),
        lambda d: d.status is DeliveryStatus.SUCCEEDED,
        timeout=FAULT_RETRY + 15,
        what="the delivery succeeded",
    )


async def test_a_secret_the_key_cannot_open_leaves_the_delivery_pending(
    store: Store, tmp_path: Path, receiver: Receiver
) -> None:
    # The API process seals the webhook's secrets with its key; the worker has another one.
    api_key, worker_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    api = Process(store, tmp_path / "api", api_key)
    dlv = await api.one_delivery(receiver.endpoint(path="/hook").url)
    worker = Process(store, tmp_path / "worker", worker_key)
    started = now_ms()
    worker.start()
    try:
        waiting = await deferred(store, dlv.id, "internal_error: prepare: RuntimeError")
        assert worker.internal_errors("prepare") == 1
        assert waiting.attempt_count == 0
        assert waiting.next_attempt_at is not None
        assert waiting.next_attempt_at >= started + 0.9 * FAULT_RETRY * 1000
        assert waiting.next_attempt_at > now_ms()
        assert await store.list_attempts(dlv.id) == []
        assert receiver.requests == []
    finally:
        await worker.stop()

    # The worker restarted with the deployment's key delivers it, as its first attempt.
    fixed = Process(store, tmp_path / "fixed", api_key)
    fixed.start()
    try:
        done = await succeeded(store, dlv.id)
    finally:
        await fixed.stop()
    assert (done.attempt_count, done.last_status_code, done.last_error) == (1, 200, None)
    (attempt,) = await store.list_attempts(dlv.id)
    assert (attempt.number, attempt.outcome) == (1, "success")
    assert receiver.count("/hook") == 1
    assert fixed.internal_errors("prepare") == 0


async def test_a_fault_that_keeps_coming_back_shows_the_delivery_stuck(
    store: Store, tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    api_key, worker_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    api = Process(store, tmp_path / "api", api_key)
    dlv = await api.one_delivery(receiver.endpoint(path="/hook").url)
    worker = Process(store, tmp_path / "worker", worker_key, fault_retry=0.02)
    reason = "internal_error: prepare: RuntimeError"
    with caplog.at_level(logging.DEBUG, logger="hookline.dispatch"):
        worker.start()
        try:
            # Two faults past the one that makes it stuck: it is still tried, and told once.
            stuck = await eventually(
                lambda: store.get_delivery(dlv.id),
                lambda d: d is not None and d.internal_faults >= STUCK_AFTER_FAULTS + 2,
                what="faults past stuck",
            )
        finally:
            await worker.stop()
    assert stuck is not None and stuck.stuck
    assert (stuck.status, stuck.attempt_count, stuck.last_error) == ("pending", 0, reason)
    assert receiver.requests == []

    # The API shows it stuck with the reason, and finds it by ?stuck=.
    transport = httpx.ASGITransport(app=create_app(api.svc))
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://hookline") as client:
        shown = (await client.get(f"/v1/deliveries/{dlv.id}", headers=headers)).json()["data"]
        assert (shown["stuck"], shown["lastError"], shown["status"]) == (True, reason, "pending")
        for path in (
            f"/v1/webhooks/{dlv.webhook_id}/deliveries",
            f"/v1/workspaces/{dlv.workspace_id}/deliveries",
        ):
            found = await client.get(path, params={"stuck": "true"}, headers=headers)
            assert [d["id"] for d in found.json()["data"]] == [dlv.id], found.text
            others = await client.get(path, params={"stuck": "false"}, headers=headers)
            assert others.json()["data"] == [], others.text

    # The metric counts it, read from the database by any process.
    metrics = (await api.ctx.metrics.render(store)).decode()
    assert "hookline_deliveries_stuck 1.0" in metrics

    # One ERROR with the traceback when it became stuck; every other fault one line without.
    about = [r for r in caplog.records if dlv.id in r.getMessage()]
    errors = [r for r in about if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].exc_info is not None and "stuck" in errors[0].getMessage()
    assert reason in errors[0].getMessage()
    assert [r for r in about if r.exc_info and r is not errors[0]] == []
    assert len([r for r in about if r.levelno == logging.WARNING]) >= STUCK_AFTER_FAULTS + 1


class _Broken:
    """A transport with a bug: every send raises."""

    def __init__(self) -> None:
        self.requests: list[OutboundRequest] = []

    async def send(self, request: OutboundRequest) -> SendResult:
        self.requests.append(request)
        raise RuntimeError("a bug in the transport")

    async def close(self) -> None:
        return None


async def test_a_transport_that_raises_leaves_the_delivery_pending(
    store: Store, tmp_path: Path, receiver: Receiver
) -> None:
    node = Process(store, tmp_path / "node", Fernet.generate_key().decode())
    hook = receiver.endpoint(path="/hook")
    dlv = await node.one_delivery(hook.url)
    broken = _Broken()
    node.start(broken)
    try:
        waiting = await deferred(store, dlv.id, "internal_error: send: RuntimeError")
    finally:
        await node.stop()
    assert node.internal_errors("send") == 1
    assert waiting.attempt_count == 0
    assert await store.list_attempts(dlv.id) == []
    (request,) = broken.requests
    assert request.url == hook.url
    assert request.max_redirects == 0  # the default policy does not follow redirects


class _RefusesRecords:
    """A store whose database refuses writes of attempt records: the first ``refusals`` of
    them, and every one holding an attempt of a delivery in ``refused``."""

    refusals = 0
    refused: frozenset[str] = frozenset()

    async def record_attempts(self, owner: str, records: list[AttemptRecord]) -> list[str]:
        if self.refusals > 0 or any(r.attempt.delivery_id in self.refused for r in records):
            self.refusals = max(0, self.refusals - 1)
            raise OSError("the database refused the write")
        found: list[str] = await super().record_attempts(owner, records)  # type: ignore[misc]
        return found


class _SqliteRefusing(_RefusesRecords, SqliteStore):
    pass


class _PostgresRefusing(_RefusesRecords, PostgresStore):
    pass


def refusing_store(database: str, box: SecretBox, refusals: int = 0) -> Any:
    if database.startswith("sqlite:///"):
        made: Any = _SqliteRefusing(Path(database.removeprefix("sqlite:///")), box=box)
    else:
        made = _PostgresRefusing(database, box=box)
    made.refusals = refusals
    return made


async def test_a_record_the_database_keeps_refusing_leaves_the_delivery_pending(
    database: str, box: SecretBox, tmp_path: Path, receiver: Receiver
) -> None:
    # The batch and three writes of the record alone fail: the delivery goes back to the queue.
    store = refusing_store(database, box, refusals=4)
    await store.open()
    try:
        node = Process(store, tmp_path / "node", Fernet.generate_key().decode())
        dlv = await node.one_delivery(receiver.endpoint(path="/hook").url)
        node.start()
        try:
            waiting = await deferred(store, dlv.id, "internal_error: record: OSError")
            assert node.internal_errors("record") == 4
            assert waiting.attempt_count == 0
            assert waiting.next_attempt_at is not None and waiting.next_attempt_at > now_ms()
            assert await store.list_attempts(dlv.id) == []
            assert receiver.count("/hook") == 1

            # The database takes records again: the next try is delivered and recorded.
            done = await succeeded(store, dlv.id)
        finally:
            await node.stop()
        assert (done.attempt_count, done.last_status_code, done.last_error) == (1, 200, None)
        (attempt,) = await store.list_attempts(dlv.id)
        assert attempt.number == 1
        assert receiver.count("/hook") == 2  # at least once: the unrecorded request went out
    finally:
        await store.close()


async def test_a_record_refused_for_good_does_not_hold_back_the_others(
    database: str, box: SecretBox, tmp_path: Path, receiver: Receiver
) -> None:
    store = refusing_store(database, box)
    await store.open()
    try:
        node = Process(store, tmp_path / "node", Fernet.generate_key().decode())
        poisoned = receiver.endpoint(path="/poison")
        poison = await node.one_delivery(poisoned.url, type="job.poison")
        store.refused = frozenset({poison.id})
        node.start()
        try:
            await poisoned.arrived(1)
            # Records written after the one the database keeps refusing still get written.
            fine = await node.one_delivery(
                receiver.endpoint(path="/fine").url, type="job.fine", ws_id=poison.workspace_id
            )
            await succeeded(store, fine.id)
            waiting = await deferred(store, poison.id, "internal_error: record: OSError")
            assert waiting.attempt_count == 0
            assert node.internal_errors("record") >= 1 + 3

            store.refused = frozenset()
            done = await succeeded(store, poison.id)
        finally:
            await node.stop()
        assert done.attempt_count == 1
    finally:
        await store.close()


class NoRoomForAttempts:
    """The database has room left for small changes but not for an attempt record (its
    request and response bodies), as a disk with a little space left; ``free`` ends it.

    SQLite: its own page limit (``PRAGMA max_page_count``) on the store's writer connection,
    set to the pages there are: a write that needs a new page fails with SQLITE_FULL,
    "database or disk is full", as on a full disk, and one that fits the pages succeeds.
    PostgreSQL: its own ``disk_full`` (53100) on every insert of an attempt.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    async def fill(self) -> None:
        if isinstance(self.store, SqliteStore):
            await self.store._writer.run(_limit_pages)
        else:
            assert isinstance(self.store, PostgresStore)
            await PostgresFull(self.store.url, tables=("attempts",)).fill()

    async def free(self) -> None:
        if isinstance(self.store, SqliteStore):
            await self.store._writer.run(lambda c: c.execute("PRAGMA max_page_count = 1073741823"))
        else:
            assert isinstance(self.store, PostgresStore)
            await PostgresFull(self.store.url).free()


def _limit_pages(c: sqlite3.Connection) -> None:
    (pages,) = c.execute("PRAGMA page_count").fetchone()
    c.execute(f"PRAGMA max_page_count = {pages}")


async def test_an_outcome_the_store_has_no_room_for_waits_in_the_worker_until_space_is_back(
    store: Store, tmp_path: Path, receiver: Receiver
) -> None:
    node = Process(store, tmp_path / "node", Fernet.generate_key().decode())
    room = NoRoomForAttempts(store)

    async def fill_then_answer(request: web.BaseRequest) -> web.StreamResponse:
        await room.fill()  # the request went out; its outcome has no room in the database
        return web.Response(text="x" * 60_000)

    hook = receiver.endpoint(path="/hook", handler=fill_then_answer)
    dlv = await node.one_delivery(hook.url)
    node.start()
    try:
        await hook.arrived(1)
        # The outcome is kept and written again and again, past the tries after which a
        # record refused for another reason goes back to the queue: the delivery is neither
        # put back nor made to wait out a fault's backoff.
        await eventually(
            lambda: asyncio.sleep(0, node.internal_errors("record")),
            lambda n: n >= RECORD_TRIES + 3,
            what="the record tried again while the store has no room",
        )
        waiting = await delivery(store, dlv.id)
        assert (waiting.status, waiting.attempt_count, waiting.last_error) == (
            DeliveryStatus.SENDING,
            0,
            None,
        )

        await room.free()
        done = await eventually(
            lambda: delivery(store, dlv.id),
            lambda d: d.status is DeliveryStatus.SUCCEEDED,
            timeout=5,
            what="the kept outcome recorded once space is back",
        )
    finally:
        await node.stop()
    assert (done.attempt_count, done.last_status_code) == (1, 200)
    assert receiver.count("/hook") == 1  # recorded as it was: not sent a second time
