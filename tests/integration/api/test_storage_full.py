"""A store that cannot write: 503 with a message and a Retry-After, never a 500.

SQLite runs on a small tmpfs that the test fills (``full_storage``: needs root, skipped
elsewhere); PostgreSQL raises the real ``disk_full`` (53100) and other out-of-resources
errors from triggers (``support.storage.PostgresFull``). Each backend's own driver error
is what reaches the store, as on a full disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.app import Api, MakeApi, assert_error
from support.polling import eventually
from support.postgres import create_database, drop_database
from support.storage import FullDisk, PostgresFull

# Seconds the API gets to notice that space is back.
RECOVERY = 5.0


Storage = FullDisk | PostgresFull


@pytest.fixture
async def full_api(make_api: MakeApi, full_storage: Storage) -> Api:
    return await make_api(database_url=full_storage.url)


def assert_unavailable(response: httpx.Response, code: str = "storage_full") -> dict[str, Any]:
    error = assert_error(response, 503, code)
    assert response.headers["Retry-After"].isdigit(), response.headers
    return error


async def test_ingest_answers_503_storage_full_while_the_store_is_full_and_202_once_space_is_back(
    full_api: Api, full_storage: Storage
) -> None:
    api = full_api
    ws = (await api.workspace(name="Full"))["id"]
    await api.webhook(ws)
    await api.event(ws, "user.created", {"n": 0})
    event = {"type": "user.created", "data": {"n": 1, "text": "x" * 4000}}

    await full_storage.fill()

    single = await api.post(f"/v1/workspaces/{ws}/events", json=event)
    error = assert_unavailable(single)
    assert "disk" in error["message"] and "space" in error["message"], error
    batch = await api.post(f"/v1/workspaces/{ws}/events/batch", json={"events": [event] * 3})
    assert_unavailable(batch)
    ready = await api.client.get("/readyz")
    assert ready.status_code == 503, ready.text
    assert ready.json() == {"status": "storage_full"}
    # What was accepted before is still there.
    listed = await api.ok("GET", f"/v1/workspaces/{ws}/events")
    assert [e["data"] for e in listed] == [{"n": 0}]

    await full_storage.free()

    await eventually(
        lambda: api.client.get("/readyz"),
        lambda response: response.status_code == 200,
        timeout=RECOVERY,
        what="/readyz once space is back",
    )
    accepted = await api.post(f"/v1/workspaces/{ws}/events", json=event)
    assert accepted.status_code == 202, accepted.text
    listed = await api.ok("GET", f"/v1/workspaces/{ws}/events")
    assert [e["data"]["n"] for e in listed] == [1, 0]


async def test_every_write_answers_503_storage_full_while_the_store_is_full(
    full_api: Api, full_storage: Storage
) -> None:
    api = full_api
    ws = (await api.workspace(name="Writes"))["id"]
    hook = await api.webhook(ws)

    await full_storage.fill()

    assert_unavailable(await api.post("/v1/workspaces", json={"name": "Another"}))
    assert_unavailable(
        await api.post(f"/v1/workspaces/{ws}/webhooks", json={"url": hook["url"], "events": ["*"]})
    )
    assert_unavailable(await api.patch(f"/v1/webhooks/{hook['id']}", json={"status": "paused"}))
    assert_unavailable(
        await api.post(f"/v1/workspaces/{ws}/api-keys", json={"name": "k", "role": "admin"})
    )
    # Reads still answer.
    assert (await api.ok("GET", f"/v1/webhooks/{hook['id']}"))["status"] == "active"


@pytest.fixture
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (the API migrates it), dropped after the test."""
    url = create_database(postgres_server)
    yield url
    drop_database(url, postgres_server)


@pytest.mark.postgres
@pytest.mark.parametrize("condition", ["out_of_memory", "too_many_connections"])
async def test_postgresql_out_of_resources_answers_503_storage_unavailable(
    make_api: MakeApi, postgres_database: str, condition: str
) -> None:
    api = await make_api(database_url=postgres_database)
    full = PostgresFull(postgres_database, condition=condition)
    await full.fill()
    try:
        response = await api.post("/v1/workspaces", json={"name": "Refused"})
    finally:
        await full.free()
    error = assert_unavailable(response, "storage_unavailable")
    assert "database" in error["message"], error
    assert (await api.client.get("/readyz")).status_code == 200


async def test_an_unexpected_error_is_answered_500_and_not_raised_to_the_server(
    make_api: MakeApi,
) -> None:
    api = await make_api()
    await api.store.close()  # every store call now fails in a way nothing expects

    response = await api.get("/v1/workspaces")

    assert_error(response, 500, "internal_error")
