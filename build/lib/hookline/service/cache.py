"""What ingestion reads for every event, kept in the process while it stays true.

Accepting an event reads the caller's key, the workspace, the event type and the
workspace's subscribed webhooks. Those change rarely, and every change moves one
counter in the database (triggers on the tables, in the changing transaction).
The cache holds one generation: values read after the counter was read as
``version``. An insert passes that version, and the store refuses it when the
counter has moved since (``StaleConfig``); the caller then starts a new
generation and reads again. So a webhook created, paused or deleted by any
process is honoured by every process's next ingest, without a read per event.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from hookline.store.port import Store

T = TypeVar("T")
# A generation holding more than this many values starts over (each value is small).
MAX_ENTRIES = 10_000


class ConfigCache:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._version: int | None = None
        self._values: dict[tuple[str, str], tuple[Any, float]] = {}
        self._generation = 0

    async def version(self) -> int:
        """The counter this generation was read at (reading it starts a generation)."""
        if self._version is not None:
            return self._version
        generation = self._generation
        version = await self._store.config_version()
        # The first read to finish starts the generation: every later load begins after it.
        if self._version is None and generation == self._generation:
            self._version = version
        return version

    async def get(
        self,
        kind: str,
        key: str,
        load: Callable[[], Awaitable[T]],
        *,
        keep_none: bool = True,
        ttl: float | None = None,
    ) -> T:
        """The value ``load`` gives for ``(kind, key)``, read once per generation.

        ``ttl`` also bounds its age, for readers that pass no version to a write.
        """
        generation = self._generation
        version = await self.version()  # first: every value is then at least as new as it
        now = time.monotonic()
        found = self._values.get((kind, key))
        if found is not None and found[1] > now:
            value: T = found[0]
            return value
        value = await load()
        if generation != self._generation or version != self._version:
            return value  # read in a generation since ended: it may predate the new version
        if value is None and not keep_none:
            return value
        if len(self._values) >= MAX_ENTRIES:
            self._values.clear()
        self._values[(kind, key)] = (value, now + ttl if ttl is not None else float("inf"))
        return value

    def reset(self) -> None:
        """Start a new generation: the configuration changed."""
        self._version = None
        self._values.clear()
        self._generation += 1
