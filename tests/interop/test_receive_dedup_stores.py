"""The receivers' dedup stores keep their contract on real backends (memory, Redis, SQLite,
PostgreSQL): an id is claimed once until released or expired, and duplicates delivered by
many threads at once run the handler exactly once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from support.polling import poll

from hookline.receive import WebhookEvent
from hookline.receive.dedup import Duplicate, MemoryStore, SQLStore, run_once

from .conftest import Stores

THREADS = 16


def event(key: str) -> WebhookEvent:
    return WebhookEvent(
        id="evt_in_body", type="a.b", data={}, payload={}, headers={"webhook-id": key}
    )


def fresh_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def test_an_id_is_claimed_once_until_released(stores: Stores) -> None:
    store = stores.make()
    first, other = fresh_id(), fresh_id()
    assert store.claim(first) is True
    assert store.claim(first) is False
    assert store.claim(other) is True
    store.release(first)
    assert store.claim(first) is True
    assert store.claim(first) is False
    store.release(fresh_id())  # releasing an id never claimed is harmless


def test_a_claim_expires_after_its_ttl(stores: Stores) -> None:
    key = fresh_id()
    if stores.clock is None:  # Redis expires keys on its own clock
        store = stores.make(ttl=0.3)
        assert store.claim(key) is True
        assert store.claim(key) is False
        poll(lambda: store.claim(key), bool, timeout=5, what="the expired claim taken again")
        return
    store = stores.make(ttl=60)
    assert store.claim(key) is True
    stores.clock.advance(59)
    assert store.claim(key) is False
    stores.clock.advance(1)
    assert store.claim(key) is True  # expired: taken again, for another ttl
    stores.clock.advance(59)
    assert store.claim(key) is False


def test_the_memory_store_is_bounded() -> None:
    store = MemoryStore(max_entries=3)
    keys = [fresh_id() for _ in range(4)]
    assert all(store.claim(key) for key in keys)
    assert len(store) == 3
    assert store.claim(keys[0]) is True  # the oldest claim went first
    assert [store.claim(key) for key in keys[2:]] == [False, False]


@pytest.mark.parametrize("options", [{"ttl": 0}, {"max_entries": 0}])
def test_a_store_refuses_a_useless_configuration(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="ttl must be positive"):
        MemoryStore(**options)


@pytest.mark.parametrize(
    "stores", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_purge_deletes_the_expired_rows(stores: Stores) -> None:
    store = stores.make(ttl=60)
    assert isinstance(store, SQLStore) and stores.clock is not None
    old, new = fresh_id(), fresh_id()
    assert store.claim(old)
    stores.clock.advance(30)
    assert store.claim(new)
    stores.clock.advance(30)
    assert store.purge() == 1
    assert store.purge() == 0
    assert store.claim(new) is False
    assert store.claim(old) is True


def at_once(run: Callable[[], None], threads: int = THREADS) -> list[BaseException]:
    """Run ``run`` in ``threads`` threads released together; what each raised."""
    barrier = threading.Barrier(threads)
    raised: list[BaseException] = []

    def one() -> None:
        barrier.wait()
        try:
            run()
        except BaseException as exc:
            raised.append(exc)

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return raised


def test_concurrent_duplicates_run_the_handler_once(stores: Stores) -> None:
    store = stores.make()
    delivery = event(fresh_id())
    ran: list[str] = []

    raised = at_once(lambda: run_once(store, delivery, lambda: ran.append("handled")))
    assert ran == ["handled"]
    assert len(raised) == THREADS - 1
    assert all(isinstance(exc, Duplicate) for exc in raised)


def test_a_failing_handler_releases_its_claim_for_the_retry(stores: Stores) -> None:
    store = stores.make()
    delivery = event(fresh_id())
    ran: list[str] = []

    def failing() -> None:
        ran.append("failed")
        raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        run_once(store, delivery, failing)
    assert run_once(store, delivery, lambda: 503, status=lambda answer: answer) == 503
    assert run_once(store, delivery, lambda: 204, status=lambda answer: answer) == 204
    with pytest.raises(Duplicate):
        run_once(store, delivery, lambda: ran.append("again"))
    assert ran == ["failed"]


def test_the_gap_a_copy_during_a_run_that_fails_is_answered_as_a_duplicate(
    stores: Stores,
) -> None:
    store = stores.make()
    delivery = event(fresh_id())
    copies: list[BaseException] = []

    def failing_while_a_copy_arrives() -> None:
        try:
            run_once(store, delivery, lambda: None)
        except Duplicate as exc:  # the copy: answered 2xx, though this run will fail
            copies.append(exc)
        raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        run_once(store, delivery, failing_while_a_copy_arrives)
    assert len(copies) == 1
    assert run_once(store, delivery, lambda: "handled") == "handled"  # a later retry runs


def test_the_key_is_webhook_id_then_the_event_id(stores: Stores) -> None:
    store = stores.make()
    key = fresh_id()
    assert store.claim(key)
    with pytest.raises(Duplicate, match=key):
        run_once(store, event(key), lambda: None)
    without_header = WebhookEvent(id=key, type=None, data={}, payload={}, headers={})
    with pytest.raises(Duplicate):
        run_once(store, without_header, lambda: None)
    anonymous = WebhookEvent(id=None, type=None, data={}, payload={}, headers={})
    ran: list[str] = []
    for _ in range(2):  # nothing to dedupe by: handled each time
        run_once(store, anonymous, lambda: ran.append("handled"))
    assert ran == ["handled", "handled"]


@pytest.mark.parametrize(
    "stores", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_create_table_may_run_in_many_processes_at_once(stores: Stores) -> None:
    store = stores.make(table="hookline_received_at_start")  # created here
    assert isinstance(store, SQLStore)
    other = SQLStore(store.engine, table="hookline_received_racing")
    assert at_once(other.create_table, threads=8) == []
    assert other.claim(fresh_id()) is True
