"""Payload filters: what they match, and where a bad one is said to be wrong."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.domain import filters
from hookline.errors import Invalid

ORDER = {
    "total": 150,
    "currency": "EUR",
    "customer": {"country": "DE", "vip": True, "tags": ["b2b"]},
    "lines": [{"sku": "A-1", "qty": 2}],
    "coupon": None,
    "odd key": 1,
}


def _parsed(value: dict[str, Any]) -> filters.Filter:
    parsed = filters.parse(value)
    assert parsed is not None
    return parsed


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"path": "$.currency", "eq": "EUR"}, True),
        ({"path": "$.currency", "eq": "USD"}, False),
        ({"path": "$.total", "eq": 150.0}, True),  # numbers by value
        ({"path": "$.customer.vip", "eq": 1}, False),  # true is not 1
        ({"path": "$.customer.vip", "eq": True}, True),
        ({"path": "$.customer.tags", "eq": ["b2b"]}, True),
        ({"path": "$.currency", "ne": "USD"}, True),
        ({"path": "$.missing", "ne": "USD"}, True),  # ne is not eq
        ({"path": "$.missing", "eq": None}, False),
        ({"path": "$.coupon", "eq": None}, True),
        ({"path": "$.customer.country", "in": ["DE", "FR"]}, True),
        ({"path": "$.customer.country", "in": ["US"]}, False),
        ({"path": "$.total", "gt": 100}, True),
        ({"path": "$.total", "gt": 150}, False),
        ({"path": "$.total", "gte": 150}, True),
        ({"path": "$.total", "lt": 150.5}, True),
        ({"path": "$.total", "lte": 149}, False),
        ({"path": "$.currency", "gt": 1}, False),  # not a number
        ({"path": "$.customer.vip", "gte": 0}, False),  # a boolean is not a number
        ({"path": "$.missing", "lt": 1}, False),
        ({"path": "$.lines[0].qty", "gte": 2}, True),
        ({"path": "$.lines[-1].sku", "eq": "A-1"}, True),
        ({"path": "$['odd key']", "eq": 1}, True),
        ({"path": "$.coupon", "exists": True}, True),  # present, even if null
        ({"path": "$.missing", "exists": True}, False),
        ({"path": "$.missing", "exists": False}, True),
    ],
)
def test_each_operator(condition: dict[str, Any], expected: bool) -> None:
    assert _parsed(condition).matches(ORDER) is expected


def test_and_or_not_combine() -> None:
    big_de = {"and": [{"path": "$.total", "gte": 100}, {"path": "$.customer.country", "eq": "DE"}]}
    assert _parsed(big_de).matches(ORDER)
    assert not _parsed(big_de).matches({**ORDER, "total": 5})
    either = {"or": [{"path": "$.total", "gt": 1000}, {"path": "$.currency", "eq": "EUR"}]}
    assert _parsed(either).matches(ORDER)
    assert not _parsed({"not": either}).matches(ORDER)
    nested = filters.parse(
        {"not": {"and": [big_de, {"not": {"path": "$.coupon", "exists": True}}]}}
    )
    assert nested is not None and nested.matches(ORDER)


@pytest.mark.parametrize(
    ("bad", "at"),
    [
        ({"path": "$.a"}, "$"),
        ({"path": "$.a", "eq": 1, "ne": 2}, "$"),
        ({"path": "$.a", "gt": "10"}, "$.gt"),
        ({"path": "$.a", "in": "DE"}, "$.in"),
        ({"path": "$.a", "exists": "yes"}, "$.exists"),
        ({"path": "a.b", "eq": 1}, "$.path"),
        ({"path": "$.a[", "eq": 1}, "$.path"),
        ({"path": "$.lines[*].sku", "eq": "A-1"}, "$.path"),
        ({"path": "$.a | $.b", "eq": 1}, "$.path"),
        ({"and": [{"path": "$.a", "eq": 1}, {"path": "$.b", "like": "x"}]}, "$.and[1]"),
        ({"and": [{"or": [{"path": "$.q", "in": 5}]}]}, "$.and[0].or[0].in"),
        ({"or": []}, "$.or"),
        ({"not": 5}, "$.not"),
        ({"and": [{"path": "$.a", "eq": 1}], "or": [{"path": "$.b", "eq": 2}]}, "$"),
        ([{"path": "$.a", "eq": 1}], "$"),
        ("$.a == 1", "$"),
    ],
)
def test_an_invalid_filter_names_where_it_is_wrong(bad: Any, at: str) -> None:
    with pytest.raises(Invalid) as raised:
        filters.parse(bad)
    assert raised.value.error_code == "invalid_filter"
    assert raised.value.details == [{"path": at, "message": raised.value.details[0]["message"]}]
    assert f"at {at}:" in raised.value.message


def test_depth_and_size_are_bounded() -> None:
    deep: dict[str, Any] = {"path": "$.a", "eq": 1}
    for _ in range(filters.MAX_DEPTH):
        deep = {"not": deep}
    with pytest.raises(Invalid, match="nest at most"):
        filters.parse(deep)
    with pytest.raises(Invalid, match="longer than"):
        filters.parse({"path": "$.a", "in": ["x" * 100] * 100})


def test_no_filter_is_none() -> None:
    assert filters.parse(None) is None


def test_a_filter_is_stored_as_it_was_given() -> None:
    given = {
        "not": {
            "and": [
                {"path": "$.total", "gte": 100},
                {"or": [{"path": "$.coupon", "exists": True}, {"path": "$.a", "in": [1, "x"]}]},
            ]
        }
    }
    parsed = _parsed(given)
    assert parsed.to_json() == given
    assert filters.load(parsed.to_json()) == parsed
