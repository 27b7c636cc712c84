from __future__ import annotations

import pytest

from hookline.domain.matching import is_valid_event_type, is_valid_pattern, matches, matches_any


@pytest.mark.parametrize(
    "event_type", ["a", "message.created", "course/completion/create", "x:y-z_1"]
)
def test_star_matches_everything(event_type: str) -> None:
    assert matches("*", event_type)


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        ("message.created", "message.created", True),
        ("message.created", "message.created.v2", False),
        ("message.created", "message.create", False),
        ("message.created", "Message.created", False),
        ("content.*", "content.user_completed", True),
        ("content.*", "content.a.b", True),
        ("content.*", "content", False),
        ("content.*", "content.", False),
        ("content.*", "contents.x", False),
        ("content.*", "content/x", False),
        ("course/*", "course/completion/create", True),
        ("course/*", "course/x", True),
        ("course/*", "courses/x", False),
        ("course/*", "course", False),
        ("course/*", "course/", False),
        ("course/*", "course.x", False),
        ("a.b.*", "a.b.c", True),
        ("a.b.*", "a.bc", False),
    ],
)
def test_matches(pattern: str, event_type: str, expected: bool) -> None:
    assert matches(pattern, event_type) is expected


def test_matches_any() -> None:
    patterns = ["course/*", "message.created"]
    assert matches_any(patterns, "course/x")
    assert matches_any(patterns, "message.created")
    assert not matches_any(patterns, "message.deleted")
    assert not matches_any([], "message.created")


@pytest.mark.parametrize(
    "pattern",
    ["*", "a", "message.created", "content.*", "course/*", "a.b.*", "x:y", "A-1_b", "a" * 128],
)
def test_valid_patterns(pattern: str) -> None:
    assert is_valid_pattern(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        "",
        "**",
        "*.*",
        ".*",
        "/*",
        "a*",
        "a.**",
        "a.*.b",
        "-a",
        ".a",
        " a",
        "a b",
        "a\n",
        "é",
        "a" * 129,
        "a" * 129 + ".*",
    ],
)
def test_invalid_patterns(pattern: str) -> None:
    assert not is_valid_pattern(pattern)


def test_event_type_length_limit() -> None:
    assert is_valid_event_type("a" * 128)
    assert not is_valid_event_type("a" * 129)
    assert not is_valid_event_type("*")
