"""Storage: the domain-shaped port and its adapters."""

from __future__ import annotations

from hookline.settings import Settings
from hookline.store.port import Store


def open_store(settings: Settings) -> Store:
    """The adapter the settings name (SQLite by default)."""
    url = settings.database_url
    if url.startswith(("postgresql://", "postgres://")):
        from hookline.store.postgres import PostgresStore

        return PostgresStore(url)
    from hookline.store.sqlite import SqliteStore

    return SqliteStore(settings.sqlite_path)
