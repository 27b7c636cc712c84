"""SQLite helpers shared by the query modules: status expressions, placeholders, lookups."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from typing import Any, TypeVar

# The mappers and paging helpers both adapters share, re-exported for the query modules.
from hookline.store.records import (
    NO_CURSOR as NO_CURSOR,
)
from hookline.store.records import (
    STUCK_WHERE as STUCK_WHERE,
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
    grace_keys as grace_keys,
)
from hookline.store.records import (
    grace_keys_column as grace_keys_column,
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
    new_webhook as new_webhook,
)
from hookline.store.records import (
    page as page,
)
from hookline.store.records import (
    sealed_headers as sealed_headers,
)
from hookline.store.records import (
    versions_column as versions_column,
)
from hookline.store.records import (
    webhook as webhook,
)
from hookline.store.records import (
    webhook_settings as webhook_settings,
)
from hookline.store.records import (
    workspace as workspace,
)
from hookline.store.records import (
    workspace_settings as workspace_settings,
)

T = TypeVar("T")

# The status a delivery returns to when it is not finished: held while its webhook is not active.
REQUEUE = (
    "CASE WHEN (SELECT status FROM webhooks w WHERE w.id = deliveries.webhook_id) = 'active' "
    "THEN 'pending' ELSE 'held' END"
)
# The first status of a new delivery, in a query that joins its webhook as ``w``.
INITIAL = "CASE w.status WHEN 'active' THEN 'pending' ELSE 'held' END"
# A webhook taken out of service holds its pending deliveries (the one parameter: its id).
HOLD = "UPDATE deliveries SET status = 'held' WHERE webhook_id = ? AND status = 'pending'"


def placeholders(n: int) -> str:
    return ",".join("?" * n)


def by_key(
    c: sqlite3.Connection, table: str, column: str, keys: Iterable[Any]
) -> dict[Any, dict[str, Any]]:
    """The rows of ``table`` whose ``column`` is one of ``keys``, as dicts by that column."""
    keys = list(keys)
    found = select_json(
        c, table, f"SELECT * FROM {table} WHERE {column} IN ({placeholders(len(keys))})", keys
    )
    return {r[column]: r for r in found}


def select_json(
    c: sqlite3.Connection, table: str, sql: str, args: Iterable[Any] = ()
) -> list[dict[str, Any]]:
    """Rows of ``sql`` (which selects whole rows of ``table``) as dicts, in one step.

    The rows come back as one JSON array built inside SQLite. The hot paths run on a
    database thread, and Python's sqlite3 releases and retakes the GIL at every step
    (row): while the event loop keeps the GIL busy, each retake can wait a whole
    switch interval, so a claim of a few hundred rows took tens of milliseconds.
    """
    obj = ", ".join(f"'{col}', {col}" for col in columns(c, table))
    (text,) = c.execute(
        f"SELECT json_group_array(json_object({obj})) FROM ({sql})", tuple(args)
    ).fetchone()
    result: list[dict[str, Any]] = loads_json(text)
    return result


_COLUMNS: dict[str, tuple[str, ...]] = {}


def columns(c: sqlite3.Connection, table: str) -> tuple[str, ...]:
    """The column names of ``table`` (the schema is fixed once migrations have run)."""
    if table not in _COLUMNS:
        _COLUMNS[table] = tuple(r[1] for r in c.execute(f"PRAGMA table_info({table})"))
    return _COLUMNS[table]


# A JSON string, or SQLite's word for an infinite REAL outside one.
_STRING_OR_INF = re.compile(r'"(?:[^"\\]|\\.)*"|(?<![\w.])(-?)Inf(?![\w])')


def loads_json(text: str) -> Any:
    """JSON that SQLite built: some versions write an infinite REAL as ``Inf``, not JSON.

    No row the service writes holds one; a row changed by hand may, and must not
    make every read or claim that meets it fail.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        fixed = _STRING_OR_INF.sub(
            lambda m: m[0] if m[0].startswith('"') else f"{m[1]}Infinity", text
        )
        return json.loads(fixed)
