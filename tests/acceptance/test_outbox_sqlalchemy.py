"""An SQLAlchemy application's outbox relayed by two ``hookline relay`` processes to a
Hookline that is killed (SIGKILL) halfway and restarted: every committed event arrives
once as an event of Hookline, nothing rolled back ever does.

The application's database is a SQLite file or a fresh PostgreSQL database; Hookline
itself runs on SQLite, which is not what this test is about.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from support.polling import poll
from support.receiver import Receiver
from support.server import Api, Hookline

from hookline.outbox.sqlalchemy import create_engine, create_table, enqueue, outbox

TRANSACTIONS = 100
SAVES = 10  # per transaction
ROLLED_BACK = {9, 19, 29, 39, 49, 59, 69, 79, 89, 99}  # the transactions that fail


class Base(DeclarativeBase):
    pass


class Order(Base):
    """The application's own model: each save writes one and its event."""

    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[int]


class RelayProcess:
    """One ``hookline relay`` subprocess logging to a file."""

    def __init__(self, log_path: Path, args: list[str], env: dict[str, str]) -> None:
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("ab")
        base = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hookline", "relay", *args],
            env={**base, **env, "PYTHONUNBUFFERED": "1"},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def save_orders(engine: sa.Engine, transactions: range) -> tuple[list[str], list[str]]:
    """``SAVES`` orders and their events per transaction, through the ORM in even ones and
    a plain connection in odd ones; the ids of the committed and the rolled-back events."""
    committed: list[str] = []
    rolled_back: list[str] = []
    for number in transactions:
        ids: list[str] = []
        with Session(engine) as session, session.begin():
            for n in range(SAVES):
                order = Order(id=number * SAVES + n, amount=n)
                if number % 2 == 0:
                    session.add(order)
                    session.flush()
                else:
                    session.execute(sa.insert(Order).values(id=order.id, amount=order.amount))
                ids.append(enqueue(session, "order.created", {"orderId": order.id}))
            if number in ROLLED_BACK:
                session.rollback()
        (rolled_back if number in ROLLED_BACK else committed).extend(ids)
    return committed, rolled_back


def sent_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).where(outbox.c.sent_at.is_not(None))
        return int(conn.execute(query).scalar_one())


def max_attempts(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(outbox.c.attempts))).scalar_one())


def every(api: Api, path: str) -> list[dict[str, Any]]:
    """Every item of a list route, page by page."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 250, **({"cursor": cursor} if cursor else {})}
        response = api.http.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["data"])
        cursor = body["nextCursor"]
        if cursor is None:
            return items


def test_two_relays_and_a_killed_hookline_deliver_every_committed_event_once(
    app_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    hookline = Hookline(tmp_path / "hookline", env={"HOOKLINE_LEASE_SECONDS": "1"}).start()
    engine = create_engine(app_url)
    relays: list[RelayProcess] = []
    try:
        endpoint = receiver.endpoint()
        with hookline.api() as api:
            quick = {"retryPolicy": {"schedule": [0, 0.2, 0.5, 1, 1, 1, 1, 1, 1, 1]}}
            ws = api.workspace(settings=quick)
            api.webhook(ws, endpoint.url, events=["order.*"])
            key = api.post(
                f"/v1/workspaces/{ws}/api-keys", {"name": "relay", "role": "publisher"}, status=201
            )["key"]
        Base.metadata.create_all(engine)
        create_table(engine)

        # Half the saves are made before the relays start, half while Hookline is down.
        committed, rolled_back = save_orders(engine, range(TRANSACTIONS // 2))
        args = ["--database-url", app_url, "--batch-size", "10", "--idle", "0.2"]
        args += ["--lease", "5", "--backoff-max", "1"]
        env = {"HOOKLINE_URL": hookline.base_url, "HOOKLINE_API_KEY": key, "HOOKLINE_WORKSPACE": ws}
        relays = [RelayProcess(tmp_path / f"relay-{n}.log", args, env) for n in range(2)]
        for relay in relays:
            poll(relay.output, lambda out: "started" in out, timeout=30, what="relay started")

        at_kill = poll(lambda: sent_count(engine), lambda n: n >= 50, timeout=30, what="some sent")
        hookline.kill()
        assert at_kill < len(committed), "Hookline must die before every row is relayed"
        more_committed, more_rolled_back = save_orders(
            engine, range(TRANSACTIONS // 2, TRANSACTIONS)
        )
        committed += more_committed
        rolled_back += more_rolled_back
        assert len(committed) == 900 and len(rolled_back) == 100
        assert sent_count(engine) < len(committed)
        # Down for longer than the relay's client retries: rows go back with a due time.
        poll(lambda: max_attempts(engine), lambda n: n >= 1, timeout=30, what="a row retried")
        hookline.start(same_port=True)

        poll(lambda: sent_count(engine), lambda n: n == 900, timeout=45, what="every row sent")
        # A delivery cut short by the SIGKILL is attempted again (at-least-once HTTP), so
        # the receiver may see a webhook-id twice: compare the distinct ids, and count
        # events and deliveries in Hookline, where exactly-once holds.
        received = poll(
            lambda: {r.headers["webhook-id"] for r in endpoint.requests},
            lambda ids: len(ids) >= len(committed),
            timeout=45,
            what="every event received",
        )
        assert received == set(committed)
        with hookline.api() as api:
            events = every(api, f"/v1/workspaces/{ws}/events")
            deliveries = every(api, f"/v1/workspaces/{ws}/deliveries")
        assert sorted(e["id"] for e in events) == sorted(committed)
        assert sorted(d["eventId"] for d in deliveries) == sorted(committed)
        assert not received & set(rolled_back)
        with engine.connect() as conn:
            stored = set(conn.execute(sa.select(outbox.c.id)).scalars())
            unsent = conn.execute(sa.select(outbox.c.id).where(outbox.c.sent_at.is_(None)))
            assert stored == set(committed) and list(unsent) == []

        for relay in relays:
            assert "outbox pass: " in relay.output(), "both relays took part"
            code = relay.terminate()
            assert code == 0, relay.output()
            assert "stopped" in relay.output()
    finally:
        for relay in relays:
            relay.stop()
        hookline.stop()
        engine.dispose()
