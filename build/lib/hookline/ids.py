"""Prefixed, sortable identifiers and the one time format of the API.

Ids are ULIDs with a type prefix (``wh_01J…``); they sort by creation time.
Times are stored as integer milliseconds since the epoch and shown as RFC 3339
UTC with milliseconds (``2026-03-18T10:05:00.000Z``).
"""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime

from ulid import ULID

PREFIXES = ("ws", "wh", "evt", "dlv", "att", "key")


def new_id(prefix: str) -> str:
    return f"{prefix}_{ULID()}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the first and last moments the
# time format can write.
MIN_TIME_MS = -62135596800000
MAX_TIME_MS = 253402300799999


def format_ms(ms: int | None) -> str | None:
    """RFC 3339 UTC with milliseconds; never raises for a stored time.

    Times the service writes stay well inside the format's range; one outside it
    (a damaged or hand-written row) is shown as the nearest end of the range.
    """
    if ms is None:
        return None
    ms = MIN_TIME_MS if not ms >= MIN_TIME_MS else MAX_TIME_MS if ms > MAX_TIME_MS else int(ms)
    return _second(ms // 1000) + f"{ms % 1000:03d}Z"


@functools.lru_cache(maxsize=1024)
def _second(seconds: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.`` of a second: the same for every time written within it."""
    dt = datetime.fromtimestamp(seconds, tz=UTC)
    return f"{dt.year:04d}" + dt.strftime("-%m-%dT%H:%M:%S.")


def parse_time(value: str) -> int:
    """Parse an RFC 3339 time (or unix seconds) into epoch milliseconds."""
    text = value.strip()
    if text.replace(".", "", 1).isdigit():
        return int(float(text) * 1000)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)
