"""Every process's next ingest honours a change made through another process.

Two API processes share one database; each keeps what ingestion reads (keys,
workspaces, the catalog, subscribed webhooks) in memory. A change made through
one is seen by the very next event accepted by the other, with no wait between.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.server import Api, Hookline

pytestmark = pytest.mark.slow


@pytest.fixture
def pair(tmp_path: Path, database_url: str | None) -> Iterator[tuple[Api, Api]]:
    data = tmp_path / "hookline"
    servers = [Hookline(data, database_url=database_url, role="api") for _ in range(2)]
    for server in servers:
        server.start()
    try:
        with servers[0].api() as one, servers[1].api() as other:
            yield one, other
    finally:
        for server in servers:
            assert server.terminate() == 0, server.output()


def deliveries(api: Api, ws: str, type: str) -> list[dict[str, object]]:
    event = api.send(ws, type, {})
    return api.deliveries_of(event["id"])


def test_webhooks_created_paused_and_deleted_elsewhere(pair: tuple[Api, Api]) -> None:
    one, other = pair
    ws = one.workspace()
    assert deliveries(other, ws, "a.b") == []  # the other process has read the workspace

    hook = one.webhook(ws, "https://example.com/hook", events=["*"])
    (created,) = deliveries(other, ws, "a.b")
    assert created["status"] == "pending"

    one.patch(f"/v1/webhooks/{hook['id']}", {"status": "paused"})
    (held,) = deliveries(other, ws, "a.b")
    assert held["status"] == "held"

    one.patch(f"/v1/webhooks/{hook['id']}", {"status": "active", "events": ["c.*"]})
    assert deliveries(other, ws, "a.b") == []
    assert len(deliveries(other, ws, "c.d")) == 1

    one.call("DELETE", f"/v1/webhooks/{hook['id']}", status=200)
    assert deliveries(other, ws, "c.d") == []


def test_a_key_revoked_elsewhere_stops_at_once(pair: tuple[Api, Api]) -> None:
    one, other = pair
    ws = one.workspace()
    created = one.post(
        f"/v1/workspaces/{ws}/api-keys", {"name": "app", "role": "publisher"}, status=201
    )
    publish = {"Authorization": f"Bearer {created['key']}"}
    path = f"/v1/workspaces/{ws}/events"
    other.post(path, {"type": "a.b", "data": {}}, status=202, headers=publish)

    one.call("DELETE", f"/v1/api-keys/{created['id']}", status=200)
    other.call("POST", path, status=401, json={"type": "a.b", "data": {}}, headers=publish)


def test_a_schema_and_a_workspace_changed_elsewhere(pair: tuple[Api, Api]) -> None:
    one, other = pair
    ws = one.workspace()
    path = f"/v1/workspaces/{ws}/events"
    name = f"order.paid.{ws}"
    other.post(path, {"type": name, "data": {"n": "x"}}, status=202)

    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    one.post("/v1/event-types", {"name": name, "schema": schema}, status=201)
    other.call("POST", path, status=422, json={"type": name, "data": {"n": "x"}})
    other.post(path, {"type": name, "data": {"n": 1}}, status=202)

    one.call("DELETE", f"/v1/workspaces/{ws}", status=200)
    other.call("POST", path, status=404, json={"type": name, "data": {"n": 1}})
