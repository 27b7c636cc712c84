"""SQLite adapter of the store port.

store.py       SqliteStore: open, close, migrate, ping; inherits the query groups
connection.py  one connection on its own thread; BEGIN IMMEDIATE write transactions
migrations.py  applies hookline/store/migrations/sqlite/*.sql once each
rows.py        row → domain object mappers, paging and SQL helpers
tenants.py     workspaces, API keys, event types
webhooks.py    webhooks, plan limit, status changes holding/releasing deliveries
events.py      idempotent event ingestion with fan-out, event reads
deliveries.py  Send Logs reads, resend/recover, test deliveries
queue.py       claim under lease, record attempts (fenced), release, reclaim, purge
sessions.py    UI sessions, redeemed portal links
"""

from __future__ import annotations

from hookline.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
