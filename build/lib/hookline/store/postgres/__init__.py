"""PostgreSQL adapter of the store port (asyncpg).

store.py       PostgresStore: open, close, migrate, ping, listen_for_work; inherits the query groups
connection.py  the pool: reads retried once on a lost connection, write transactions
migrations.py  applies hookline/store/migrations/postgresql/*.sql under an advisory lock
listener.py    LISTEN hookline_work on a dedicated connection, re-established when lost
base.py        status expressions and NOTIFY shared by the query modules
tenants.py     workspaces, API keys, event types
webhooks.py    webhooks, plan limit, status changes holding/releasing deliveries
events.py      idempotent batched event ingestion with fan-out, event reads
deliveries.py  Send Logs reads, resend/recover, test deliveries
claims.py      claim due deliveries: FOR UPDATE SKIP LOCKED, FIFO heads, rate-limit slots
queue.py       record attempts (fenced), release, renew, reclaim, queue stats, purge
partitions.py  attempts by day: create the coming days, drop the days retention has passed
sessions.py    UI sessions, redeemed portal links
"""

from __future__ import annotations

from hookline.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
