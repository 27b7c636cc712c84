"""Schema migrations: the ``.sql`` files of ``hookline/store/migrations/sqlite``, in name order.

Each file runs once, in its own transaction, and is recorded in
``schema_migrations``. Two processes migrating the same fresh database at once
is safe: the loser's transaction rolls back and it finds the file applied.
"""

from __future__ import annotations

import sqlite3
from importlib import resources

from hookline.ids import now_ms


def scripts() -> list[tuple[str, str]]:
    """(file name, SQL) of every migration, oldest first."""
    folder = resources.files("hookline.store") / "migrations" / "sqlite"
    return sorted((f.name, f.read_text()) for f in folder.iterdir() if f.name.endswith(".sql"))


def apply(conn: sqlite3.Connection) -> list[str]:
    """Apply the migrations not yet applied; return their versions (file names sans ``.sql``)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)"
    )
    applied = []
    for name, sql in scripts():
        if _is_applied(conn, name):
            continue
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nINSERT INTO schema_migrations VALUES "
                f"('{name}', {now_ms()});\nCOMMIT;"
            )
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if _is_applied(conn, name):  # another process applied it meanwhile
                continue
            raise
        applied.append(name.removesuffix(".sql"))
    return applied


def _is_applied(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (name,)).fetchone()
    return row is not None
