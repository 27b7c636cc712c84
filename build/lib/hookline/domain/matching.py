"""Subscription patterns: which event types a webhook receives.

A pattern is an exact event type, ``*`` (everything), or a prefix ending in
``.*`` or ``/*`` that matches every type below it: ``course/*`` matches
``course/completion/create`` but not ``courses/x`` nor ``course`` itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EVENT_TYPE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}")


def is_valid_event_type(name: str) -> bool:
    return EVENT_TYPE_RE.fullmatch(name) is not None


def is_valid_pattern(pattern: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith((".*", "/*")):
        return is_valid_event_type(pattern[:-2])
    return is_valid_event_type(pattern)


def matches(pattern: str, event_type: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith((".*", "/*")):
        prefix = pattern[:-1]
        return event_type.startswith(prefix) and len(event_type) > len(prefix)
    return pattern == event_type


def matches_any(patterns: Iterable[str], event_type: str) -> bool:
    return any(matches(p, event_type) for p in patterns)
