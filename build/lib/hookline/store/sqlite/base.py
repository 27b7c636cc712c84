"""What every group of queries shares: one writer and one reader connection."""

from __future__ import annotations

from hookline.secrets import SecretBox
from hookline.store.sqlite.connection import ConnectionThread


class Queries:
    """Base of the query groups ``SqliteStore`` is assembled from.

    Writes go through ``_writer`` (one ``BEGIN IMMEDIATE`` transaction each);
    reads through ``_reader``, which sees the last committed state (WAL).
    ``_box`` seals and opens what is stored encrypted (webhooks' custom headers).
    """

    _writer: ConnectionThread
    _reader: ConnectionThread
    _box: SecretBox
