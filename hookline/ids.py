"""Prefixed, sortable identifiers and the one time format of the API.

Ids are ULIDs with a type prefix (``wh_01J…``); they sort by creation time.
Times are stored as integer milliseconds since the epoch and shown as RFC 3339
UTC with milliseconds (``2026-03-18T10:05:00.000Z``).
"""

from __future__ import annotations

import base64
import functools
import os
import threading
import time
from datetime import UTC, datetime

PREFIXES = ("ws", "wh", "evt", "dlv", "att", "key")

# RFC 4648 base32 to the Crockford alphabet of ULIDs.
_CROCKFORD = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)
_lock = threading.Lock()
_last = 0  # the last ULID made, as an integer


def new_id(prefix: str) -> str:
    """``prefix`` and a new ULID: 48 bits of milliseconds and 80 random bits, the last one
    plus one within the same millisecond (or if the clock went back), so this process's ids
    sort in the order they were made, as python-ulid's monotonic ``ULID()`` does, at a
    third of its cost: every attempt takes one."""
    global _last
    ms = time.time_ns() // 1_000_000
    with _lock:
        if ms > _last >> 80:
            _last = ms << 80 | int.from_bytes(os.urandom(10))
        else:
            _last += 1
        value = _last
    # 160 bits in 32 characters: the first 6 hold 30 of the 32 leading zero bits, the
    # other 26 are the ULID (two zero bits, then its 128).
    return f"{prefix}_{base64.b32encode(value.to_bytes(20))[6:].translate(_CROCKFORD).decode()}"


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
