"""An event type's versions: which is the latest, and how an event names one."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.domain.models import EventType, SchemaVersion
from hookline.errors import Invalid
from hookline.service.catalog import parse_schema_version


def event_type(versions: dict[str, SchemaVersion]) -> EventType:
    return EventType(
        name="a.b",
        category="a",
        description="",
        versions=versions,
        deprecated=False,
        archived=False,
        created_at=0,
        updated_at=0,
    )


def test_the_latest_version_is_the_highest_number() -> None:
    et = event_type(
        {
            "2": SchemaVersion(example={"v": 2}),
            "10": SchemaVersion(schema={}, example={"v": 10}),
            "9": SchemaVersion(),
        }
    )
    assert (et.latest, et.latest_example) == ("10", {"v": 10})
    assert et.first == SchemaVersion()


def test_a_type_without_versions_has_no_latest_and_an_empty_first() -> None:
    et = event_type({})
    assert (et.latest, et.latest_example, et.first) == (None, None, SchemaVersion())


def test_the_latest_versions_example_is_none_when_it_has_none() -> None:
    et = event_type({"1": SchemaVersion(example={"v": 1}), "2": SchemaVersion(schema={})})
    assert (et.latest_example, et.first.example) == (None, {"v": 1})


@pytest.mark.parametrize(("given", "parsed"), [(None, None), ("1", "1"), (12, "12"), ("30", "30")])
def test_a_schema_version_is_a_positive_integer(given: Any, parsed: str | None) -> None:
    assert parse_schema_version(given) == parsed


@pytest.mark.parametrize("given", ["0", "01", "v1", "", " 1", 0, -1, True, 1.0, ["1"], {}])
def test_anything_else_is_refused(given: Any) -> None:
    with pytest.raises(Invalid) as caught:
        parse_schema_version(given)
    assert caught.value.error_code == "invalid_schema_version"
