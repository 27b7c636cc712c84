"""Custom header values at rest, end to end: a production-mode ``hookline serve`` on SQLite
sends a webhook's ``Authorization`` header to a receiver on 127.0.0.1, yet the database files
never hold its value; and a server started on a database an older version wrote, with header
values in clear, seals them before it serves and keeps delivering them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.receiver import Endpoint, Receiver
from support.server import Api, Hookline

pytestmark = pytest.mark.slow

SEKRIT = "sekrit-123"
HEADERS = {"Authorization": f"Bearer {SEKRIT}", "X-Tenant": "tenant-77"}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as rcv:
        yield rcv


def production_server(data_dir: Path) -> Hookline:
    """Without ``--dev``; only 127.0.0.1 opened, over http://, for the receiver here."""
    env = {"HOOKLINE_ALLOW_HTTP": "true", "HOOKLINE_ALLOWED_NETWORKS": '["127.0.0.1/32"]'}
    return Hookline(data_dir, dev=False, env=env)


def database_files(data_dir: Path) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in sorted(data_dir.glob("hookline.db*")) if p.is_file()}
    assert "hookline.db" in files, sorted(p.name for p in data_dir.iterdir())
    return files


def webhook_rows(data_dir: Path) -> str:
    """The webhooks table, read with sqlite3, as one text."""
    conn = sqlite3.connect(data_dir / "hookline.db")
    try:
        return repr(conn.execute("SELECT * FROM webhooks").fetchall())
    finally:
        conn.close()


def deliver(api: Api, ws: str, endpoint: Endpoint, n: int) -> dict[str, str]:
    """Send one event; the ``n``-th request's headers as the receiver got them."""
    event = api.send(ws, "user.updated", {"n": n})
    got = endpoint.wait(n)[n - 1]
    (dlv,) = api.deliveries_of(event["id"])
    attempt = api.settled(dlv["id"])["attempts"][-1]
    assert attempt["request"]["headers"]["Authorization"] == "[redacted]"
    return dict(got.headers)


def test_header_values_are_sent_but_never_stored(tmp_path: Path, receiver: Receiver) -> None:
    server = production_server(tmp_path / "data").start()
    try:
        endpoint = receiver.endpoint()
        with server.api() as api:
            ws = api.workspace()
            wh = api.webhook(ws, endpoint.url, headers=HEADERS)
            assert wh["headers"] == HEADERS
            sent = deliver(api, ws, endpoint, 1)
            api.patch(f"/v1/webhooks/{wh['id']}", {"headers": {**HEADERS, "X-Extra": "x-99"}})
            again = deliver(api, ws, endpoint, 2)
        for got in (sent, again):
            assert got["Authorization"] == f"Bearer {SEKRIT}"
            assert got["X-Tenant"] == "tenant-77"
        assert again["X-Extra"] == "x-99"
        running = database_files(server.data_dir)
        assert any(name.endswith("-wal") and content for name, content in running.items())
        assert b"user.updated" in b"".join(running.values())  # the files are the live ones
    finally:
        assert server.terminate() == 0, server.output()
    for name, content in {**running, **database_files(server.data_dir)}.items():
        assert SEKRIT.encode() not in content, f"{name} holds the header value in clear"
    rows = webhook_rows(server.data_dir)
    assert wh["id"] in rows
    for clear in ("tenant-77", "x-99", "Authorization"):
        assert clear not in rows, f"the webhooks table holds {clear!r} in clear"
    assert SEKRIT not in server.output()


def test_an_upgrade_seals_the_header_values_older_versions_stored(
    tmp_path: Path, receiver: Receiver
) -> None:
    data = tmp_path / "data"
    endpoint = receiver.endpoint()
    server = production_server(data).start()
    try:
        with server.api() as api:
            ws = api.workspace()
            wh = api.webhook(ws, endpoint.url)
    finally:
        assert server.terminate() == 0, server.output()
    # What a version before header values were sealed left in the row: a JSON object.
    conn = sqlite3.connect(data / "hookline.db")
    try:
        conn.execute(
            "UPDATE webhooks SET headers = ? WHERE id = ?", (json.dumps(HEADERS), wh["id"])
        )
        conn.commit()
    finally:
        conn.close()
    assert SEKRIT in webhook_rows(data)

    upgraded = production_server(data).start()
    try:
        # Sealed before the server answers its first request.
        rows = webhook_rows(data)
        assert wh["id"] in rows and SEKRIT not in rows and "tenant-77" not in rows
        with upgraded.api() as api:
            assert api.get(f"/v1/webhooks/{wh['id']}")["headers"] == HEADERS
            got = deliver(api, ws, endpoint, 1)
    finally:
        assert upgraded.terminate() == 0, upgraded.output()
    assert got["Authorization"] == f"Bearer {SEKRIT}" and got["X-Tenant"] == "tenant-77"
    assert SEKRIT not in webhook_rows(data)
