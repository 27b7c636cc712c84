"""An outbox event's data as the JSON object stored in its row, the same for every outbox.

Besides JSON's own values, an event's data may hold what an application's rows hold: dates and
times, decimals and UUIDs. They are written as Django's ``DjangoJSONEncoder`` writes them, so
the SQLAlchemy outbox and Django's ``send()`` accept the same values and store the same text:
an aware datetime in RFC 3339 with milliseconds (``Z`` for UTC), a date or naive time in ISO
8601, a duration as ``P1DT02H00M00S``, a decimal or UUID as its string. Anything else, and a
NaN or infinite float, is refused at once with a ``TypeError`` or ``ValueError`` naming where
in the data it is.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Mapping
from typing import Any


class EventDataError(TypeError):
    """An event's data that cannot be written as JSON."""


def encode(data: Mapping[str, Any], default: Any = None) -> dict[str, Any]:
    """``data`` as a JSON object of plain values, or ``EventDataError`` saying which value is not
    one. ``default``, when given, is tried first for values this module does not know."""
    if not isinstance(data, Mapping):
        raise EventDataError(f"an event's data is a JSON object, not {data.__class__.__name__}")
    encoded: dict[str, Any] = _plain(dict(data), "data", default)
    return encoded


def _plain(value: Any, path: str, default: Any) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise EventDataError(f"{path} is {value!r}, which JSON cannot represent")
        return value
    if isinstance(value, Mapping):
        plain = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise EventDataError(f"{path} has the key {key!r}: JSON keys are strings")
            plain[key] = _plain(item, f"{path}[{key!r}]", default)
        return plain
    if isinstance(value, list | tuple):
        return [_plain(item, f"{path}[{i}]", default) for i, item in enumerate(value)]
    if default is not None:
        try:
            return _plain(default(value), path, None)
        except EventDataError:
            raise
        except TypeError:
            pass
    text = _scalar(value, path)
    if text is None:
        raise EventDataError(
            f"{path} is of type {value.__class__.__name__}, which an event's data cannot hold: use "
            "JSON values, dates and times, decimals or UUIDs"
        )
    return text


def _scalar(value: Any, path: str) -> str | None:
    if isinstance(value, datetime.datetime):
        text = value.isoformat()
        if value.microsecond:
            text = text[:23] + text[26:]
        return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        if value.utcoffset() is not None:
            raise EventDataError(
                f"{path} is a time of day with a time zone, which JSON cannot hold"
            )
        text = value.isoformat()
        return text[:12] if value.microsecond else text
    if isinstance(value, datetime.timedelta):
        return _duration(value)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return None


def _duration(value: datetime.timedelta) -> str:
    sign = "-" if value < datetime.timedelta(0) else ""
    value = abs(value)
    minutes, seconds = divmod(value.seconds, 60)
    hours, minutes = divmod(minutes, 60)
    micro = f".{value.microseconds:06d}" if value.microseconds else ""
    return f"{sign}P{value.days}DT{hours:02d}H{minutes:02d}M{seconds:02d}{micro}S"
