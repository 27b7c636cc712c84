"""SQLite helpers shared by the query modules: status expressions, placeholders, lookups."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, TypeVar

# The mappers and paging helpers both adapters share, re-exported for the query modules.
from hookline.store.records import (
    NO_CURSOR as NO_CURSOR,
)
from hookline.store.records import (
    api_key as api_key,
)
from hookline.store.records import (
    attempt as attempt,
)
from hookline.store.records import (
    delivery as delivery,
)
from hookline.store.records import (
    event as event,
)
from hookline.store.records import (
    event_type as event_type,
)
from hookline.store.records import (
    int_cursor as int_cursor,
)
from hookline.store.records import (
    json_or_none as json_or_none,
)
from hookline.store.records import (
    like as like,
)
from hookline.store.records import (
    page as page,
)
from hookline.store.records import (
    webhook as webhook,
)
from hookline.store.records import (
    workspace as workspace,
)

T = TypeVar("T")

# The status a delivery returns to when it is not finished: held while its webhook is not active.
REQUEUE = (
    "CASE WHEN (SELECT status FROM webhooks w WHERE w.id = deliveries.webhook_id) = 'active' "
    "THEN 'pending' ELSE 'held' END"
)
# The first status of a new delivery, in a query that joins its webhook as ``w``.
INITIAL = "CASE w.status WHEN 'active' THEN 'pending' ELSE 'held' END"


def placeholders(n: int) -> str:
    return ",".join("?" * n)


def by_key(
    c: sqlite3.Connection, table: str, column: str, keys: Iterable[Any]
) -> dict[Any, sqlite3.Row]:
    keys = list(keys)
    rows = c.execute(
        f"SELECT * FROM {table} WHERE {column} IN ({placeholders(len(keys))})", keys
    ).fetchall()
    return {r[column]: r for r in rows}
