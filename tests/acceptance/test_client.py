"""``hookline.client`` against a real server: every operation, typed answers, errors with the
API's codes, pagination; and a send retried after a lost answer is still one event."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from support.polling import poll
from support.receiver import Receiver
from support.server import Api, Hookline

from hookline.client import (
    AsyncClient,
    Client,
    Conflict,
    ConnectionFailed,
    Delivery,
    DeliveryDetail,
    Invalid,
    NotFound,
    Retries,
    Unauthorized,
    Webhook,
)
from hookline.client._base import OPERATIONS

pytestmark = pytest.mark.store_independent

FAST = Retries(attempts=3, initial=0.01, maximum=0.05)


@pytest.fixture
def client(hookline: Hookline) -> Iterator[Client]:
    with Client(hookline.base_url, hookline.admin_key, retries=FAST) as c:
        yield c


def test_every_operation_against_the_server(
    client: Client, hookline: Hookline, receiver: Receiver
) -> None:
    called: set[str] = set()

    def did(*names: str) -> None:
        called.update(names)

    assert client.health().status == "ok" and client.ready().status == "ok"
    assert "hookline_" in client.metrics()
    assert client.config()["effective"]["source"] == "this server"
    did("health", "ready", "metrics", "config")

    ws = client.create_workspace("Client", plan="pro")
    assert client.get_workspace(ws.id).name == "Client"
    assert client.update_workspace(ws.id, name="Client 2").name == "Client 2"
    assert ws.id in {w.id for w in client.workspaces()}
    did("create_workspace", "get_workspace", "update_workspace", "workspaces")

    key = client.create_api_key(ws.id, "ci", "publisher")
    assert key.key.startswith("hk_") and [k.id for k in client.api_keys(ws.id)] == [key.id]
    assert client.revoke_api_key(key.id).id == key.id
    did("create_api_key", "api_keys", "revoke_api_key")

    name = f"client.{ws.id}"
    schema = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
    et = client.create_event_type(name, schema=schema, example={"n": 1}, description="A test type")
    assert et.schema_ == schema and client.get_event_type(name).description == "A test type"
    assert client.update_event_type(name, description="Changed").description == "Changed"
    assert name in {t.name for t in client.event_types()}
    did("create_event_type", "get_event_type", "update_event_type", "event_types")

    endpoint = receiver.endpoint()
    wh = client.create_webhook(ws.id, endpoint.url, [name], name="Billing")
    assert isinstance(wh, Webhook) and wh.events == [name] and wh.status == "active"
    assert client.get_webhook(wh.id).name == "Billing"
    assert client.update_webhook(wh.id, description="desc").description == "desc"
    assert [w.id for w in client.webhooks(ws.id)] == [wh.id]
    doubled = "function handler(w) { w.payload.data.n *= 2; return w; }"
    tried = client.try_transformation(wh.id, name, code=doubled)
    assert tried.error is None and json.loads(tried.body or "")["data"] == {"n": 2}
    did("try_transformation")
    secret = client.get_secret(wh.id)
    rotated = client.rotate_secret(wh.id, grace_seconds=0)
    assert rotated.secret != secret.secret and client.get_secret(wh.id).secret == rotated.secret
    did(
        "create_webhook", "get_webhook", "update_webhook", "webhooks", "get_secret", "rotate_secret"
    )

    accepted = client.send(ws.id, name, {"n": 1})
    assert accepted.deliveries == 1 and accepted.id.startswith("evt_")
    [ok, refused] = client.send_batch(
        ws.id, [{"type": name, "data": {"n": 2}}, {"type": name, "data": {}}]
    )
    assert ok.ok and ok.data is not None and ok.data.deliveries == 1
    assert not refused.ok and refused.status == 422 and refused.error is not None
    assert refused.error.code == "schema_violation"
    endpoint.wait(2)
    detail = client.get_event(accepted.id)
    assert detail.data == {"n": 1} and len(detail.deliveries) == 1
    assert {e.id for e in client.events(ws.id, type=name)} == {accepted.id, ok.data.id}
    did("send", "send_batch", "get_event", "events")

    [first] = [d for d in client.deliveries(ws.id, event_id=accepted.id)]
    settled = poll(lambda: client.get_delivery(first.id), lambda d: d.status == "succeeded",
                   what="the delivery settled")  # fmt: skip
    assert isinstance(settled, DeliveryDetail) and settled.attempts[0].response is not None
    assert settled.attempts[0].response.status == 200
    assert [
        d.id
        for d in client.deliveries(webhook_id=wh.id, status="succeeded", since=timedelta(hours=1))
    ]
    resent = client.resend(first.id)
    assert isinstance(resent, Delivery) and resent.resent_from == first.id
    with pytest.raises(Conflict) as finished:
        client.retry(first.id)
    assert finished.value.code == "delivery_finished"
    did("deliveries", "get_delivery", "resend", "retry")

    pinged = client.test_webhook(wh.id)
    assert "test" in pinged.tags
    assert client.recover(wh.id, since=timedelta(hours=1)).count == 0
    assert client.create_portal_link(ws.id, expires_in=600).url.startswith(hookline.base_url)
    did("test_webhook", "recover", "create_portal_link")

    assert client.pause_webhook(wh.id, "maintenance").status == "paused"
    assert client.resume_webhook(wh.id).status == "active"
    assert client.delete_webhook(wh.id).id == wh.id
    assert client.archive_event_type(name).archived
    assert client.delete_workspace(ws.id).id == ws.id
    did("delete_webhook", "archive_event_type", "delete_workspace")

    assert called == set(OPERATIONS.values())


def test_errors_carry_the_apis_code_and_message(
    client: Client, hookline: Hookline, ws: str
) -> None:
    with pytest.raises(NotFound) as missing:
        client.get_webhook("wh_missing")
    assert (missing.value.status, missing.value.code) == (404, "not_found")
    with pytest.raises(Invalid) as invalid:
        client.create_webhook(ws, "not a url")
    assert invalid.value.status == 422 and invalid.value.message
    with pytest.raises(Conflict):
        client.create_workspace("Again", id=ws)
    with (
        Client(hookline.base_url, "hk_wrong", retries=FAST) as stranger,
        pytest.raises(Unauthorized),
    ):
        stranger.get_workspace(ws)


def test_lists_follow_the_cursor(client: Client, ws: str) -> None:
    sent = {client.send(ws, "paged.event", {"n": n}).id for n in range(5)}
    assert {e.id for e in client.events(ws, page_size=2)} == sent


def test_the_async_client(hookline: Hookline, ws: str, receiver: Receiver) -> None:
    async def go() -> None:
        async with AsyncClient(hookline.base_url, hookline.admin_key, retries=FAST) as aio:
            wh = await aio.create_webhook(ws, receiver.endpoint().url)
            accepted = await aio.send(ws, "async.event", {"n": 1})
            [item] = await aio.send_batch(ws, [{"type": "async.event", "data": {"n": 2}}])
            assert item.ok
            found = [d async for d in aio.deliveries(ws, page_size=1)]
            assert {d.event_id for d in found} == {accepted.id, item.data.id if item.data else ""}
            assert (await aio.get_webhook(wh.id)).id == wh.id
            with pytest.raises(NotFound):
                await aio.get_delivery("dlv_missing")

    asyncio.run(go())


class DroppingProxy:
    """A TCP proxy in front of Hookline that, for the first request whose head contains
    ``drop``, forwards it and then closes the client's connection without the answer: the
    server did the work, the client saw a broken connection."""

    def __init__(self, upstream_port: int, drop: bytes) -> None:
        self.upstream_port = upstream_port
        self.drop = drop
        self.dropped = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn, socket.create_connection(("127.0.0.1", self.upstream_port)) as up:
            conn.settimeout(10)
            up.settimeout(10)
            while True:
                request = _read_http(conn)
                if not request:
                    return
                up.sendall(request)
                answer = _read_http(up)
                if self.drop in request.split(b"\r\n\r\n")[0] and self.dropped == 0:
                    self.dropped += 1
                    return  # the answer never reaches the client
                conn.sendall(answer)

    def close(self) -> None:
        self._sock.close()


def _read_http(sock: socket.socket) -> bytes:
    """One HTTP/1.1 message with a Content-Length body (what httpx and uvicorn send here)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.mark.parametrize("path", [b"/events ", b"/events/batch "])
def test_a_send_whose_answer_is_lost_is_one_event(
    hookline: Hookline, api: Api, ws: str, receiver: Receiver, path: bytes
) -> None:
    api.webhook(ws, receiver.endpoint().url)
    proxy = DroppingProxy(hookline.port, b"POST /v1/workspaces/" + ws.encode() + path)
    try:
        with Client(f"http://127.0.0.1:{proxy.port}", hookline.admin_key, retries=FAST) as c:
            if path == b"/events ":
                accepted = c.send(ws, "lost.answer", {"n": 1})
                ids = [accepted.id]
            else:
                results = c.send_batch(
                    ws, [{"type": "lost.answer", "data": {"n": n}} for n in range(3)]
                )
                ids = [r.data.id for r in results if r.data is not None]
    finally:
        proxy.close()
    assert proxy.dropped == 1
    events = api.get(f"/v1/workspaces/{ws}/events")
    assert sorted(e["id"] for e in events) == sorted(ids)
    assert all(len(api.deliveries_of(i)) == 1 for i in ids)


def test_a_post_that_is_not_repeatable_is_not_retried(
    hookline: Hookline, api: Api, ws: str, receiver: Receiver
) -> None:
    wh = api.webhook(ws, receiver.endpoint().url)
    event = api.send(ws, "once.only", {"n": 1})
    [dlv] = api.deliveries_of(event["id"])
    api.settled(dlv["id"])
    proxy = DroppingProxy(hookline.port, b"/resend ")
    try:
        with Client(f"http://127.0.0.1:{proxy.port}", hookline.admin_key, retries=FAST) as c:
            with pytest.raises(ConnectionFailed):
                c.resend(dlv["id"])
    finally:
        proxy.close()
    resent: list[dict[str, Any]] = [
        d for d in api.get(f"/v1/webhooks/{wh['id']}/deliveries") if d["resentFrom"] == dlv["id"]
    ]
    assert len(resent) == 1


def test_a_webhook_with_a_destination_and_a_filter_has_no_url_of_its_own(
    client: Client, ws: str
) -> None:
    destination = {
        "type": "redis",
        "url": "redis://127.0.0.1:6379/0",
        "stream": "hooks",
        "password": "pw-client",
    }
    wh = client.create_webhook(
        ws, None, destination=destination, filter={"path": "$.total", "gte": 1}
    )
    assert wh.url == "redis://127.0.0.1:6379/0"
    assert wh.destination == {k: v for k, v in destination.items() if k != "password"}
    assert wh.filter == {"path": "$.total", "gte": 1}
