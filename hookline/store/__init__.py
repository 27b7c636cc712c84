"""Storage: the domain-shaped port and its adapters."""

from __future__ import annotations

from hookline.data_dir import prepare_database_dir
from hookline.secrets import SecretBox
from hookline.settings import Settings
from hookline.store.port import Store


def open_store(settings: Settings, box: SecretBox) -> Store:
    """The adapter the settings name (SQLite by default), sealing with the deployment's box.

    Raises ``DataDirError`` when the SQLite database's directory cannot be written."""
    url = settings.database_url
    if url.startswith(("postgresql://", "postgres://")):
        from hookline.store.postgres import PostgresStore

        return PostgresStore(url, box=box)
    from hookline.store.sqlite import SqliteStore

    prepare_database_dir(settings)
    return SqliteStore(settings.sqlite_path, box=box)
