"""The Django outbox end to end: a real Django project (tests/django_project) on SQLite and
on PostgreSQL, two ``manage.py hookline_relay`` processes, and a real Hookline that is
killed (SIGKILL) in the middle of the load and started again.

What must hold: every event of a committed transaction reaches the receiver, Hookline holds
exactly one event (and one delivery) per committed outbox row, and nothing of a rolled-back
transaction is ever sent. The receiver may see one event's delivery twice, when Hookline was
killed in the middle of its attempt (HTTP delivery is at least once; receivers dedupe on
``webhook-id``), so the receiver's side is compared as the set of ids it saw.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.polling import poll
from support.receiver import Receiver
from support.server import Api, Hookline

PROJECT = Path(__file__).parents[1] / "django_project"
TRANSACTIONS = 100  # of ten saves each; every tenth rolls back
pytestmark = pytest.mark.slow


class App:
    """The test project, run with ``manage.py`` as its deployment would run it."""

    def __init__(self, database: str, hookline: Hookline, key: str, workspace: str) -> None:
        self.database = database
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")},
            "APP_DATABASE_URL": database,
            "HOOKLINE_URL": hookline.base_url,
            "HOOKLINE_API_KEY": key,
            "HOOKLINE_WORKSPACE": workspace,
            "PYTHONUNBUFFERED": "1",
        }

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def relay(self, log: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "manage.py", "hookline_relay"],
            cwd=PROJECT,
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def outbox(self) -> list[tuple[str, bool]]:
        """Every outbox row: its id and whether it was sent."""
        sql = "SELECT id, sent_at IS NOT NULL FROM hookline_outbox"
        if self.database.startswith("sqlite"):
            with sqlite3.connect(self.database.removeprefix("sqlite:///")) as conn:
                return [(str(i), bool(s)) for i, s in conn.execute(sql)]
        with psycopg.connect(self.database) as conn:
            return [(str(i), bool(s)) for i, s in conn.execute(sql)]


def all_pages(api: Api, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        resp = api.http.get(f"{path}?limit=250{cursor}")
        assert resp.status_code == 200, resp.text
        body = resp.json()
        items += body["data"]
        if body["nextCursor"] is None:
            return items
        cursor = f"&cursor={body['nextCursor']}"


def test_committed_saves_are_delivered_once_and_rolled_back_ones_never(
    tmp_path: Path, app_url: str, receiver: Receiver
) -> None:
    server = Hookline(tmp_path / "hookline", env={"HOOKLINE_LEASE_SECONDS": "2"}).start()
    relays: list[subprocess.Popen[bytes]] = []
    try:
        with server.api() as api:
            ws = api.workspace()
            endpoint = receiver.endpoint()
            api.webhook(ws, endpoint.url, events=["order.*"], retryPolicy={"schedule": [0, 0.2]})
            key = api.post(
                f"/v1/workspaces/{ws}/api-keys", {"name": "app", "role": "publisher"}, status=201
            )["key"]
        app = App(app_url, server, key, ws)
        app.manage("migrate", "--verbosity", "0")
        relays = [app.relay(tmp_path / f"relay-{n}.log") for n in range(2)]

        half = TRANSACTIONS // 2
        app.manage("load", "--first", "0", "--count", str(half))
        # Hookline dies once some of the first half reached it, not all of it.
        poll(lambda: sum(sent for _, sent in app.outbox()), lambda n: n >= 50, timeout=30,
             what="the relays' first events sent")  # fmt: skip
        server.kill()
        app.manage("load", "--first", str(half), "--count", str(TRANSACTIONS - half))
        server.start(same_port=True)

        poll(app.outbox, lambda rows: all(sent for _, sent in rows), timeout=60,
             what="every outbox row sent")  # fmt: skip
        committed = {row_id for row_id, _ in app.outbox()}
        assert len(committed) == 90 * 10  # 90 transactions, ten saves each

        with server.api() as api:
            poll(lambda: {r.headers["webhook-id"] for r in endpoint.requests},
                 lambda seen: seen >= committed, timeout=60,
                 what="every committed event at the receiver")  # fmt: skip
            events = all_pages(api, f"/v1/workspaces/{ws}/events")
            deliveries = all_pages(api, f"/v1/workspaces/{ws}/deliveries")
        assert sorted(e["id"] for e in events) == sorted(committed)
        assert len(deliveries) == len(committed)
        assert {d["eventId"] for d in deliveries} == committed

        received = [json.loads(r.body) for r in endpoint.requests]
        assert {r["id"] for r in received} == committed
        batches = {r["data"]["fields"]["batch"] for r in received}
        assert batches == {i for i in range(TRANSACTIONS) if i % 10 != 9}
        kinds = sorted({r["type"] for r in received})
        assert kinds == ["order.created", "order.updated"]
    finally:
        for relay in relays:
            relay.send_signal(signal.SIGTERM)
        codes = [relay.wait(timeout=30) for relay in relays]
        server.stop()
    assert codes == [0, 0], [(tmp_path / f"relay-{n}.log").read_text() for n in range(2)]


SCRIPT = """
from decimal import Decimal
from django.db import transaction
from hookline.django import send
from shop.models import Customer, Order

Customer.objects.create(email="ada@example.com", name="Ada")
order = Order.objects.create(batch=1, total=Decimal("12.50"))
order.status = "paid"
order.save()
order.delete()
with transaction.atomic():
    send("invoice.paid", {"invoiceId": "in_1", "amount": Decimal("3.10")})
try:
    with transaction.atomic():
        send("invoice.voided", {"invoiceId": "in_2"})
        Order.objects.create(batch=2, total=Decimal("1.00"))
        raise RuntimeError("roll back")
except RuntimeError:
    pass
"""


def test_model_events_carry_the_serialized_instance_and_custom_events_the_outbox(
    tmp_path: Path, receiver: Receiver
) -> None:
    server = Hookline(tmp_path / "hookline").start()
    try:
        with server.api() as api:
            ws = api.workspace()
            endpoint = receiver.endpoint()
            api.webhook(ws, endpoint.url)
            app = App(f"sqlite:///{tmp_path / 'app.sqlite3'}", server, server.admin_key or "", ws)
            app.manage("migrate", "--verbosity", "0")
            app.manage("shell", "-c", SCRIPT)
            assert "sent 5, retried 0, refused 0" in app.manage("hookline_relay", "--once")
            received = [json.loads(r.body) for r in endpoint.wait(5)]
    finally:
        server.terminate()
    by_type = {r["type"]: r["data"] for r in received}
    assert sorted(by_type) == [
        "customer.created",
        "invoice.paid",
        "order.created",
        "order.deleted",
        "order.updated",
    ]
    assert by_type["customer.created"] == {
        "model": "shop.customer",
        "pk": 1,
        "fields": {"email": "ada@example.com"},
    }
    created, updated = by_type["order.created"], by_type["order.updated"]
    assert created["fields"]["total"] == "12.50" and created["fields"]["status"] == "new"
    assert updated["fields"]["status"] == "paid" and updated["pk"] == created["pk"]
    assert by_type["order.deleted"]["pk"] == created["pk"]
    assert isinstance(created["fields"]["placed_at"], str)
    assert by_type["invoice.paid"] == {"invoiceId": "in_1", "amount": "3.10"}


def test_the_migration_matches_the_model_and_bad_settings_stop_the_app(tmp_path: Path) -> None:
    app = App(f"sqlite:///{tmp_path / 'app.sqlite3'}", Hookline(tmp_path / "h"), "hk_x", "ws")
    app.manage("makemigrations", "--check", "--dry-run", "hookline")
    for models, problem in [
        ('{"shop.Nope": {}}', "'shop.Nope', which is not an installed model"),
        ('{"shop.Order": {"events": ["saved"]}}', '"events"] is a list of'),
        ('{"shop.Order": {"fields": ["nope"]}}', "shop.Order has no field 'nope'"),
    ]:
        done = subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=PROJECT,
            env={**app.env, "APP_HOOKLINE_MODELS": models},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode != 0 and "settings.HOOKLINE" in done.stderr, done.stderr
        assert problem in done.stderr, done.stderr


def test_relay_once_exits_3_while_hookline_cannot_take_the_events(
    tmp_path: Path, receiver: Receiver
) -> None:
    """``--once`` exits as ``hookline relay --once`` does: 3 while events must wait, 0 once sent."""
    server = Hookline(tmp_path / "hookline").start()
    try:
        with server.api() as api:
            ws = api.workspace()
            api.webhook(ws, receiver.endpoint().url)
        app = App(f"sqlite:///{tmp_path / 'app.sqlite3'}", server, server.admin_key or "", ws)
        app.manage("migrate", "--verbosity", "0")
        app.manage("shell", "-c", SCRIPT)
    finally:
        server.terminate()
    waited = subprocess.run(
        [sys.executable, "manage.py", "hookline_relay", "--once"],
        cwd=PROJECT,
        env=app.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert waited.returncode == 3, waited.stdout + waited.stderr
    assert "sent 0, retried 5, refused 0" in waited.stdout
    assert "5 event(s) must wait for another run" in waited.stderr
    assert "Traceback" not in waited.stderr
    assert not any(sent for _, sent in app.outbox())
