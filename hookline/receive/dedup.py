"""Deliveries received before: answered 2xx without running the handler again.

A store remembers the ids of deliveries that a handler is running or has run::

    claim(key) -> bool   True: the caller now holds the id and runs the handler;
                         False: the id is held already, the delivery is a duplicate
    release(key)         forget the id, so its next delivery runs the handler again

Claims expire after ``ttl`` seconds (by default 3 days, longer than Hookline's default
retry schedule of about 27 hours). Three stores, each safe for concurrent callers:

- ``MemoryStore``: one process, bounded (the oldest claims go first when it is full);
- ``RedisStore``: a ``SET NX`` with expiry per id, on a redis-py client you pass;
- ``SQLStore``: one ``INSERT`` per id into a table with the id as its primary key
  (SQLAlchemy Core), expiry by an ``expires_at`` column and ``purge()``.

``run_once`` is what the framework helpers run: claim before the handler, release when
it fails. This module imports neither redis nor SQLAlchemy; each is used only by its store.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import sqlalchemy as sa
    from redis import Redis

    from hookline.receive import WebhookEvent

R = TypeVar("R")

DEFAULT_TTL = 3 * 24 * 3600.0
DEFAULT_MAX_ENTRIES = 100_000
DEFAULT_TABLE = "hookline_received"


class DeliveryStore(Protocol):
    """Where the ids of deliveries being or already handled are kept."""

    def claim(self, key: str) -> bool: ...

    def release(self, key: str) -> None: ...


class Duplicate(Exception):
    """A delivery whose id is claimed already: answered 200, the handler not run again."""

    status = 200

    def __init__(self, key: str) -> None:
        self.key = key
        self.message = f"delivery {key} was received before; it is not handled again"
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        """The answer's JSON: ``ok`` like a success, ``duplicate`` saying why nothing ran."""
        return {"ok": True, "duplicate": True, "message": self.message}


def delivery_key(event: WebhookEvent) -> str | None:
    """The id a delivery is deduplicated by: ``webhook-id``, else the event's id."""
    return event.headers.get("webhook-id") or event.id


def claim(store: DeliveryStore, event: WebhookEvent) -> str | None:
    """Claim the delivery's id in ``store``: the id claimed (``None`` for a delivery without
    one, which is never a duplicate); raises ``Duplicate`` if it is held already."""
    key = delivery_key(event)
    if key is not None and not store.claim(key):
        raise Duplicate(key)
    return key


def run_once(
    store: DeliveryStore,
    event: WebhookEvent,
    handler: Callable[[], R],
    status: Callable[[R], int] = lambda _: 200,
) -> R:
    """``handler()``'s answer, unless the delivery is a duplicate (``Duplicate`` is raised,
    the handler not called; see ``claim``). The claim is released when the handler raises
    or its answer's ``status`` is not 2xx, so that the sender's retry runs it again."""
    key = claim(store, event)
    try:
        answer = handler()
    except BaseException:
        if key is not None:
            store.release(key)
        raise
    if key is not None and not 200 <= status(answer) < 300:
        store.release(key)
    return answer


class MemoryStore:
    """Claims in this process's memory: at most ``max_entries`` (the oldest go first),
    each for ``ttl`` seconds. For one process; several workers need a shared store."""

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or max_entries < 1:
            raise ValueError("ttl must be positive and max_entries at least 1")
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._expiries: OrderedDict[str, float] = OrderedDict()  # in claim (= expiry) order
        self._lock = threading.Lock()

    def claim(self, key: str) -> bool:
        with self._lock:
            now = self._clock()
            while self._expiries:
                oldest, expiry = next(iter(self._expiries.items()))
                if expiry > now:
                    break
                del self._expiries[oldest]
            if key in self._expiries:
                return False
            if len(self._expiries) >= self.max_entries:
                self._expiries.popitem(last=False)
            self._expiries[key] = now + self.ttl
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._expiries.pop(key, None)

    def __len__(self) -> int:
        return len(self._expiries)


class RedisStore:
    """Claims as Redis keys ``{prefix}{id}``, set with ``SET NX PX``: the first set wins,
    Redis expires them. ``client`` is a synchronous ``redis.Redis``."""

    def __init__(
        self, client: Redis, *, ttl: float = DEFAULT_TTL, prefix: str = "hookline:received:"
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.client = client
        self.ttl = ttl
        self.prefix = prefix

    def claim(self, key: str) -> bool:
        expiry = max(1, round(self.ttl * 1000))  # milliseconds
        return bool(self.client.set(self.prefix + key, 1, nx=True, px=expiry))

    def release(self, key: str) -> None:
        self.client.delete(self.prefix + key)


class SQLStore:
    """Claims as rows of a table (``hookline_received``: ``id`` the primary key,
    ``expires_at``), through a SQLAlchemy engine. A claim is one ``INSERT``; only when the
    id is there already does an ``UPDATE`` take it over if it has expired. ``create_table()``
    makes the table; ``purge()`` deletes expired rows (run it now and then)."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        ttl: float = DEFAULT_TTL,
        table: str = DEFAULT_TABLE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        import sqlalchemy as sa

        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.engine = engine
        self.ttl = timedelta(seconds=ttl)
        self._clock = clock
        self.table = sa.Table(
            table,
            sa.MetaData(),
            sa.Column("id", sa.String(255), primary_key=True),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
        )

    def create_table(self) -> None:
        """Create the table and its index if they are missing (safe to run every start)."""
        import sqlalchemy as sa

        try:
            self.table.create(self.engine, checkfirst=True)
        except sa.exc.DBAPIError:
            # Another process created it between the check and the CREATE.
            if not sa.inspect(self.engine).has_table(self.table.name):
                raise

    def claim(self, key: str) -> bool:
        import sqlalchemy as sa

        now = self._now()
        try:
            with self.engine.begin() as conn:
                conn.execute(self.table.insert().values(id=key, expires_at=now + self.ttl))
            return True
        except sa.exc.IntegrityError:
            pass
        taken_over = (
            self.table.update()
            .where(self.table.c.id == key, self.table.c.expires_at <= now)
            .values(expires_at=now + self.ttl)
        )
        with self.engine.begin() as conn:
            return conn.execute(taken_over).rowcount == 1

    def release(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.table.delete().where(self.table.c.id == key))

    def purge(self) -> int:
        """Delete the expired claims; how many there were."""
        expired = self.table.delete().where(self.table.c.expires_at <= self._now())
        with self.engine.begin() as conn:
            return conn.execute(expired).rowcount

    def _now(self) -> datetime:
        # SQLite keeps no offset: store UTC without one, so times compare in order.
        now = self._clock().astimezone(UTC)
        return now if self.engine.dialect.name != "sqlite" else now.replace(tzinfo=None)


__all__ = [
    "DEFAULT_TTL",
    "DeliveryStore",
    "Duplicate",
    "MemoryStore",
    "RedisStore",
    "SQLStore",
    "claim",
    "delivery_key",
    "run_once",
]
