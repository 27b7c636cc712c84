"""Whether a store's database is out of space, as its own writes found it.

A write that fails for lack of space (``StorageFull``) marks the store full; the next
write that succeeds marks it writable again (each change logged once). While it is
full, ``ensure_writable`` answers from memory, except at most once per
``PROBE_INTERVAL``: then it first tries a small write of its own (the store's probe),
since something has to write to learn that space is back: an API that refuses events
early writes nothing, and neither does a ``/readyz`` polled by a load balancer. A store
with room never probes, so ingest and ``/readyz`` cost no write.

Each process keeps its own: the API refuses events, and a dispatcher stops claiming,
from what its own store saw.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from hookline.errors import StorageFull, StorageUnavailable

log = logging.getLogger("hookline.store")

# The least time between two probes of a full store (seconds).
PROBE_INTERVAL = 1.0


class SpaceWatch:
    def __init__(
        self,
        probe: Callable[[], Awaitable[None]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._clock = clock
        self._full_since: float | None = None
        self._probed_at = float("-inf")
        self._probing = False

    @property
    def full(self) -> bool:
        """Whether the last write that needed space found none (and none succeeded since)."""
        return self._full_since is not None

    def failed(self, exc: StorageFull) -> None:
        """A write failed for lack of space."""
        if self._full_since is None:
            self._full_since = self._clock()
            self._probed_at = self._full_since
            log.error(
                "the database is out of space (%s): writes fail, events are refused with "
                "503 storage_full and /readyz answers 503 until space is freed",
                exc.__cause__ or exc,
            )

    def wrote(self) -> None:
        """A write succeeded."""
        if self._full_since is not None:
            log.warning(
                "the database has space again after %.1f s: writes succeed",
                self._clock() - self._full_since,
            )
            self._full_since = None

    async def ensure_writable(self) -> None:
        """Raise ``StorageFull`` while the store is full (probing it first when due)."""
        if self._full_since is None:
            return
        if not self._probing and self._clock() - self._probed_at >= PROBE_INTERVAL:
            self._probing = True
            self._probed_at = self._clock()
            try:
                await self._probe()
            except StorageUnavailable:
                pass  # still full (the write said so), or the database is out of reach
            else:
                self.wrote()
            finally:
                self._probing = False
        if self._full_since is not None:
            raise StorageFull()
