"""An outbox event's data: the SQLAlchemy outbox and Django's ``send()`` accept the same values
and write them as ``DjangoJSONEncoder`` does; anything else is refused at once, saying where."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from hookline.outbox.payload import EventDataError, encode

VALUES: dict[str, Any] = {
    "total": Decimal("12.50"),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "at": datetime(2026, 3, 18, 10, 5, 0, 123456, tzinfo=UTC),
    "local": datetime(2026, 3, 18, 10, 5, tzinfo=timezone(timedelta(hours=2))),
    "naive": datetime(2026, 3, 18, 10, 5, 1),
    "day": date(2026, 3, 18),
    "clock": time(10, 5, 0, 250000),
    "took": timedelta(days=1, hours=2, seconds=3, microseconds=4),
    "back": -timedelta(minutes=90),
    "nested": {"items": [Decimal("1.5"), (1, "two", None, True, 2.5)]},
}


def test_the_values_are_written_as_djangos_encoder_writes_them() -> None:
    assert encode(VALUES) == json.loads(json.dumps(VALUES, cls=DjangoJSONEncoder))
    assert encode({"total": Decimal("12.50")}) == {"total": "12.50"}


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"tags": {"a", "b"}}, "data['tags'] is of type set"),
        ({"lines": [object()]}, "data['lines'][0] is of type object"),
        ({"ratio": float("nan")}, "data['ratio'] is nan"),
        ({"x": {1: "one"}}, "data['x'] has the key 1"),
        ({"t": time(10, tzinfo=UTC)}, "data['t'] is a time of day with a time zone"),
    ],
)
def test_other_values_are_refused_saying_where(data: dict[str, Any], where: str) -> None:
    with pytest.raises(EventDataError) as refused:
        encode(data)
    assert str(refused.value).startswith(where)


def test_the_data_is_an_object() -> None:
    with pytest.raises(EventDataError, match="a JSON object, not list"):
        encode([1, 2])  # type: ignore[arg-type]
