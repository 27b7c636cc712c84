"""Prefixed, sortable identifiers and the one time format of the API.

Ids are ULIDs with a type prefix (``wh_01J…``); they sort by creation time.
Times are stored as integer milliseconds since the epoch and shown as RFC 3339
UTC with milliseconds (``2026-03-18T10:05:00.000Z``).
"""

from __future__ import annotations

import functools
import os
import threading
import time
from datetime import UTC, datetime

PREFIXES = ("ws", "wh", "evt", "dlv", "att", "key")

# Every pair of characters of the Crockford base32 alphabet of ULIDs: one per 10 bits.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_lock = threading.Lock()
_last = 0  # the last ULID made, as an integer


def new_id(prefix: str) -> str:
    """``prefix`` and a new ULID: 48 bits of milliseconds and 80 random bits, the last one
    plus one within the same millisecond (or if the clock went back), so this process's ids
    sort in the order they were made, as python-ulid's monotonic ``ULID()`` does, in a third
    of its instructions: every attempt, event and delivery takes one."""
    global _last
    ms = time.time_ns() // 1_000_000
    with _lock:
        if ms > _last >> 80:
            _last = ms << 80 | int.from_bytes(os.urandom(10))
        else:
            _last += 1
        value = _last
    return f"{prefix}_{ulid_text(value)}"


def ulid_text(value: int) -> str:
    """The 26 characters of the 128-bit ULID ``value`` (130 bits, two of them leading zeros):
    13 pairs of characters, the first 6 from the high 60 bits, the other 7 from the low 70."""
    p, high, low = _PAIRS, value >> 70, value & (1 << 70) - 1
    return (
        f"{p[high >> 50]}{p[high >> 40 & 1023]}{p[high >> 30 & 1023]}{p[high >> 20 & 1023]}"
        f"{p[high >> 10 & 1023]}{p[high & 1023]}{p[low >> 60]}{p[low >> 50 & 1023]}"
        f"{p[low >> 40 & 1023]}{p[low >> 30 & 1023]}{p[low >> 20 & 1023]}"
        f"{p[low >> 10 & 1023]}{p[low & 1023]}"
    )


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
