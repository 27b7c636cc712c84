from __future__ import annotations

from typing import Any

import pytest

from hookline.domain.limits import MAX_TTL
from hookline.domain.workspace_settings import (
    InvalidSettings,
    load_settings,
    parse_settings,
    parse_ttl,
)


@pytest.mark.parametrize(("raw", "ttl"), [(1, 1), (3600, 3600), (60.0, 60), (MAX_TTL, MAX_TTL)])
def test_a_ttl_default_is_kept_as_whole_seconds(raw: Any, ttl: int) -> None:
    settings = parse_settings({"ttl": raw})
    assert settings.ttl == ttl
    assert settings.to_json() == {"ttl": ttl}
    assert load_settings(settings.to_json()) == settings


def test_a_null_ttl_is_no_default() -> None:
    settings = parse_settings({"ttl": None})
    assert settings.ttl is None
    assert settings.to_json() == {"ttl": None}


@pytest.mark.parametrize("raw", [0, -5, MAX_TTL + 1, 1.5, "60", True, [60], float("nan")])
def test_a_bad_ttl_default_is_refused_with_its_rule(raw: Any) -> None:
    with pytest.raises(InvalidSettings) as refused:
        parse_settings({"ttl": raw})
    assert refused.value.problems == [
        f"settings.ttl must be a whole number of seconds from 1 to {MAX_TTL}"
    ]
    assert parse_ttl(raw) is None
