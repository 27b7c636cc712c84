"""The outbox for SQLAlchemy applications: the ``hookline_outbox`` table, ``enqueue`` in
the caller's transaction, and the ``Source`` that ``hookline relay`` reads.

    from hookline.outbox.sqlalchemy import enqueue

    with Session(engine) as session, session.begin():
        session.add(order)
        enqueue(session, "order.created", {"orderId": order.id})

The event exists if and only if that transaction commits. Claims are dialect-specific
because SQLite has no ``SKIP LOCKED``: PostgreSQL leases rows with ``FOR UPDATE SKIP
LOCKED`` so relays never wait on each other, SQLite with one ``UPDATE … WHERE id IN
(SELECT … LIMIT n)``, which its single writer makes atomic.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import Session
from ulid import ULID

from hookline.outbox.payload import encode
from hookline.outbox.relay import Pending

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

__all__ = [
    "TABLE_NAME",
    "SQLAlchemySource",
    "aenqueue",
    "create_engine",
    "create_table",
    "enqueue",
    "metadata",
    "outbox",
    "outbox_table",
]

TABLE_NAME = "hookline_outbox"
MAX_ERROR = 2000  # characters of a failure kept in last_error
_CHUNK = 500  # ids per IN (…): far below every SQLite build's variable limit


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored and read back as UTC.

    SQLite keeps no offset: times are written in UTC, so their text sorts and compares
    in time order, and read back as aware datetimes like PostgreSQL's ``timestamptz``.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"{TABLE_NAME} times are timezone-aware, not {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# The rows a claim looks at: sent and refused rows, the many, stay out of its index.
PENDING_INDEX_WHERE = sa.text("sent_at IS NULL AND refused_at IS NULL")


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    """The ``hookline_outbox`` table in ``metadata``: add it to your application's metadata
    so Alembic's autogenerate sees it, or use the module's own ``outbox``."""
    table = sa.Table(
        TABLE_NAME,
        metadata,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(128), nullable=True),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, default=0, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("locked_by", sa.String(64), nullable=True),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("refused_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    sa.Index(
        f"{TABLE_NAME}_pending",
        table.c.created_at,
        table.c.id,
        postgresql_where=PENDING_INDEX_WHERE,
        sqlite_where=PENDING_INDEX_WHERE,
    )
    return table


metadata = sa.MetaData()
outbox = outbox_table(metadata)


def _row(type: str, data: Mapping[str, Any], workspace_id: str | None) -> dict[str, Any]:
    payload = encode(data)
    if not type or len(type) > 128:
        raise ValueError(f"an event type is 1 to 128 characters, not {type!r}")
    if workspace_id is not None and not 1 <= len(workspace_id) <= 128:
        raise ValueError(f"a workspace id is 1 to 128 characters, not {workspace_id!r}")
    now = datetime.now(UTC)
    return {
        "id": f"evt_{ULID()}",
        "workspace_id": workspace_id,
        "event_type": type,
        "payload": payload,
        "created_at": now,
        "attempts": 0,
        "next_attempt_at": now,
    }


def enqueue(
    target: Connection | Session,
    type: str,
    data: Mapping[str, Any],
    *,
    workspace_id: str | None = None,
    table: sa.Table = outbox,
) -> str:
    """Write an event into the outbox in ``target``'s current transaction; its id.

    Nothing is committed here: the event is relayed once, and only if, the caller's
    transaction commits. ``workspace_id`` ``None`` sends it to the relay's default workspace.
    """
    row = _row(type, data, workspace_id)
    target.execute(sa.insert(table).values(row))
    return str(row["id"])


async def aenqueue(
    target: AsyncConnection | AsyncSession,
    type: str,
    data: Mapping[str, Any],
    *,
    workspace_id: str | None = None,
    table: sa.Table = outbox,
) -> str:
    """``enqueue`` for an ``AsyncConnection`` or ``AsyncSession``."""
    row = _row(type, data, workspace_id)
    await target.execute(sa.insert(table).values(row))
    return str(row["id"])


def create_engine(url: str | sa.URL, **options: Any) -> Engine:
    """An engine for ``url``; a ``postgresql://`` URL without a driver uses psycopg (v3),
    and connections are checked before use, so a restarted database costs one error."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed, pool_pre_ping=True, **options)


def create_table(engine: Engine, *, table: sa.Table = outbox) -> None:
    """Create the outbox table and its index if they are missing (safe to run every start)."""
    try:
        table.create(engine, checkfirst=True)
    except sa.exc.DBAPIError:
        # Another process created it between the check and the CREATE.
        if not sa.inspect(engine).has_table(table.name, schema=table.schema):
            raise


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


class SQLAlchemySource:
    """The outbox table as a relay's ``Source``, on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, *, table: sa.Table = outbox) -> None:
        self.engine = engine
        self.table = table

    def _pending(self, now: datetime) -> sa.ColumnElement[bool]:
        t = self.table.c
        return sa.and_(
            t.sent_at.is_(None),
            t.refused_at.is_(None),
            t.next_attempt_at <= now,
            sa.or_(t.locked_until.is_(None), t.locked_until < now),
        )

    def claim(self, owner: str, limit: int, until: datetime) -> list[Pending]:
        t = self.table.c
        due = (
            sa.select(t.id)
            .where(self._pending(datetime.now(UTC)))
            .order_by(t.created_at, t.id)
            .limit(limit)
        )
        lease = {"locked_by": owner, "locked_until": until}
        columns = (t.id, t.workspace_id, t.event_type, t.payload, t.attempts, t.created_at)
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            claim = sa.update(self.table).where(t.id.in_(due.scalar_subquery())).values(lease)
            if conn.dialect.update_returning:
                rows = list(conn.execute(claim.returning(*columns)))
            else:
                # SQLite before 3.35 has no RETURNING; a relay's ``until`` is new each pass.
                conn.execute(claim)
                mine = sa.select(*columns).where(t.locked_by == owner, t.locked_until == until)
                rows = list(conn.execute(mine.where(t.sent_at.is_(None), t.refused_at.is_(None))))
        rows.sort(key=lambda r: (r.created_at, r.id))
        return [
            Pending(
                id=r.id,
                workspace_id=r.workspace_id,
                type=r.event_type,
                data=r.payload,
                attempts=r.attempts,
            )
            for r in rows
        ]

    def sent(self, owner: str, ids: Sequence[str], at: datetime) -> None:
        t = self.table.c
        with self.engine.begin() as conn:
            for chunk in _chunks(ids):
                conn.execute(
                    sa.update(self.table)
                    .where(t.id.in_(chunk), t.locked_by == owner)
                    .values(sent_at=at, locked_by=None, locked_until=None)
                )

    def retry(self, owner: str, due: Mapping[str, datetime], error: str) -> None:
        t = self.table.c
        statement = (
            sa.update(self.table)
            .where(t.id == sa.bindparam("row_id"), t.locked_by == sa.bindparam("owner"))
            .values(
                attempts=t.attempts + 1,
                next_attempt_at=sa.bindparam("due", type_=UTCDateTime()),
                last_error=error[:MAX_ERROR],
                locked_by=None,
                locked_until=None,
            )
        )
        self._each(statement, [{"row_id": i, "owner": owner, "due": d} for i, d in due.items()])

    def refuse(self, owner: str, errors: Mapping[str, str], at: datetime) -> None:
        t = self.table.c
        statement = (
            sa.update(self.table)
            .where(t.id == sa.bindparam("row_id"), t.locked_by == sa.bindparam("owner"))
            .values(
                refused_at=at,
                last_error=sa.bindparam("error"),
                locked_by=None,
                locked_until=None,
            )
        )
        params = [{"row_id": i, "owner": owner, "error": e[:MAX_ERROR]} for i, e in errors.items()]
        self._each(statement, params)

    def _each(self, statement: sa.Update, params: list[dict[str, Any]]) -> None:
        if not params:
            return
        with self.engine.begin() as conn:
            conn.execute(statement, params)

    def requeue_refused(self, ids: Sequence[str] | None = None) -> int:
        """Put refused rows (all, or those of ``ids``) back to pending, due now, after the
        cause was fixed; how many. Their last error stays until they are sent or fail again."""
        t = self.table.c
        statement = (
            sa.update(self.table)
            .where(t.refused_at.is_not(None), t.sent_at.is_(None))
            .values(refused_at=None, next_attempt_at=datetime.now(UTC))
        )
        with self.engine.begin() as conn:
            if ids is None:
                return conn.execute(statement).rowcount
            return sum(conn.execute(statement.where(t.id.in_(c))).rowcount for c in _chunks(ids))
