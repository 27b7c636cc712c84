"""Fill a deployment's database with old, finished work, directly in SQL, within a time budget.

Each stored delivery is a real trio: its event, the delivery (``succeeded``,
1 attempt) and the attempt with a request and response like the ones Hookline
logs, stored ``at`` a given time (by default an hour ago, well inside the
retention period). Ids are ``<prefix>_0000<n>``: they sort before every real ULID, so the
bench can count what it adds itself with ``id > '<prefix>_0001'``. The server
must be stopped while this runs (SQLite) or idle (PostgreSQL).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable

from bench.api import event_data
from bench.deploy import Deployment, psql

CUTOFF = "0001"  # prefilled ids are <prefix>_0000…; real ones <prefix>_01…
CHUNK = 50_000


def _payloads() -> tuple[str, str, str]:
    data = json.dumps(event_data(0), separators=(",", ":"))
    request = json.dumps(
        {
            "method": "POST",
            "url": "http://127.0.0.1:1/ok/0",
            "headers": {
                "Content-Type": "application/json",
                "User-Agent": "Hookline-Webhook/1.0",
                "X-Hookline-Event": "bench.0",
                "X-Hookline-Delivery": "evt_" + "0" * 26,
                "X-Hookline-Timestamp": "1735689600",
                "X-Hookline-Attempt": "1",
                "webhook-id": "evt_" + "0" * 26,
                "webhook-timestamp": "1735689600",
                "webhook-signature": "v1," + "A" * 44,
            },
            "body": '{"id":"evt_' + "0" * 26 + '","type":"bench.0","timestamp":'
            '"2025-01-01T00:00:00.000Z","data":' + data + "}",
        }
    )
    response = json.dumps(
        {"status": 200, "headers": {"Content-Length": "0"}, "body": "", "truncated": False}
    )
    return data, request, response


def fill(
    deploy: Deployment,
    *,
    ws: str,
    hooks: list[str],
    upto: int,
    budget_s: float,
    progress: Callable[[int], None] | None = None,
    at: int | None = None,
) -> tuple[int, float]:
    """Add finished deliveries until ``upto`` are stored or ``budget_s`` ran out.

    Returns (prefilled deliveries now stored, seconds spent).
    """
    started = time.monotonic()
    filler = _sqlite_chunk if deploy.kind == "sqlite" else _pg_chunk
    stamp = int(time.time() * 1000) - 3_600_000 if at is None else at
    done = _prefilled(deploy)
    while done < upto and time.monotonic() - started < budget_s:
        size = min(CHUNK, upto - done)
        filler(deploy, ws, hooks, done, size, stamp)
        done += size
        if progress:
            progress(done)
    _settle(deploy)
    return done, time.monotonic() - started


def _settle(deploy: Deployment) -> None:
    """Leave the database as a running system would have it, so the drain after the fill does
    not pay for the fill: statistics and visibility map up to date (this server runs with
    autovacuum off) and the fill's dirty pages checkpointed."""
    if deploy.kind == "sqlite":
        conn = sqlite3.connect(deploy.sqlite_path, isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        return
    psql("VACUUM ANALYZE", db=deploy.db_name)
    psql("CHECKPOINT", db=deploy.db_name)


def _prefilled(deploy: Deployment) -> int:
    ((n,),) = deploy.sql(f"SELECT count(*) FROM deliveries WHERE id < 'dlv_{CUTOFF}'")
    return int(n)


def _sqlite_chunk(
    deploy: Deployment, ws: str, hooks: list[str], start: int, size: int, at: int
) -> None:
    data, request, response = _payloads()
    conn = sqlite3.connect(deploy.sqlite_path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS hooks (i INTEGER PRIMARY KEY, id TEXT)")
        conn.execute("DELETE FROM hooks")
        conn.executemany("INSERT INTO hooks VALUES (?, ?)", list(enumerate(hooks)))
        (offset,) = conn.execute("SELECT coalesce(max(pk), 0) FROM events").fetchone()
        series = "WITH RECURSIVE s(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM s WHERE n < ?) "
        bounds = (start, start + size - 1)
        nh = len(hooks)
        conn.execute("BEGIN")
        conn.execute(
            series + "INSERT INTO events (pk, id, workspace_id, type, data, created_at) "
            "SELECT ? + 1 + n - ?, printf('evt_0000%022d', n), ?, 'bench.' || (n % ?), ?, ? "
            "FROM s",
            (*bounds, offset, start, ws, nh, data, at),
        )
        conn.execute(
            series + "INSERT INTO deliveries (id, event_pk, webhook_id, workspace_id, event_id, "
            "event_type, status, attempt_count, next_attempt_at, last_status_code, created_at, "
            "completed_at) SELECT printf('dlv_0000%022d', n), ? + 1 + n - ?, "
            "(SELECT id FROM hooks WHERE i = n % ?), ?, printf('evt_0000%022d', n), "
            "'bench.' || (n % ?), 'succeeded', 1, NULL, 200, ?, ? FROM s",
            (*bounds, offset, start, nh, ws, nh, at, at + 5),
        )
        conn.execute(
            series + "INSERT INTO attempts (id, delivery_id, webhook_id, number, started_at, "
            "duration_ms, request, response, error, outcome) SELECT printf('att_0000%022d', n), "
            "printf('dlv_0000%022d', n), (SELECT id FROM hooks WHERE i = n % ?), 1, ?, 1.5, ?, "
            "?, NULL, 'success' FROM s",
            (*bounds, nh, at, request, response),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def _pg_chunk(
    deploy: Deployment, ws: str, hooks: list[str], start: int, size: int, at: int
) -> None:
    """The same rows, made by the server itself from ``generate_series``."""
    data, request, response = _payloads()
    types = _pg_types(deploy)

    def lit(table: str, column: str, text: str) -> str:
        return "'" + text.replace("'", "''") + f"'::{types[(table, column)]}"

    hook_array = "ARRAY[" + ",".join(f"'{h}'" for h in hooks) + "]"
    nh = len(hooks)
    series = f"FROM generate_series({start}, {start + size - 1}) AS n"
    pad = "lpad(n::text, 22, '0')"
    sql = f"""
BEGIN;
WITH ev AS (
  INSERT INTO events (id, workspace_id, type, data, created_at)
  SELECT 'evt_0000' || {pad}, '{ws}', 'bench.' || (n % {nh}), {lit("events", "data", data)}, {at}
  {series}
  RETURNING pk, id
), num AS (SELECT pk, id, substr(id, 9)::bigint AS n FROM ev)
INSERT INTO deliveries (id, event_pk, webhook_id, workspace_id, event_id, event_type, status,
    attempt_count, next_attempt_at, last_status_code, created_at, completed_at)
  SELECT 'dlv_0000' || {pad}, pk, ({hook_array})[1 + n % {nh}], '{ws}', id,
    'bench.' || (n % {nh}), 'succeeded', 1, NULL, 200, {at}, {at + 5}
  FROM num;
INSERT INTO attempts (id, delivery_id, webhook_id, number, started_at, duration_ms, request,
    response, error, outcome)
  SELECT 'att_0000' || {pad}, 'dlv_0000' || {pad}, ({hook_array})[1 + n % {nh}], 1, {at}, 1.5,
    {lit("attempts", "request", request)}, {lit("attempts", "response", response)}, NULL,
    'success' {series};
COMMIT;
"""
    psql(sql, db=deploy.db_name)


def _pg_types(deploy: Deployment) -> dict[tuple[str, str], str]:
    rows = psql(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name IN ('events','deliveries','attempts')",
        db=deploy.db_name,
    )
    out = {}
    for line in rows.splitlines():
        table, column, dtype = line.split("|")
        out[(table, column)] = {
            "character varying": "text",
            "timestamp with time zone": "timestamptz",
        }.get(dtype, dtype)
    return out
