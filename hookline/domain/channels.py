"""Channels: a second filter beside event types, naming who an event is for. Pure.

An event may carry up to ``MAX_CHANNELS`` channel names and a webhook may subscribe to as
many; a name is 1-``MAX_CHANNEL_LENGTH`` of letters, digits and ``- _ . :`` (Svix's rule).
``reaches`` says whether an event goes to a webhook as far as channels go: a webhook without
channels gets every event, one with channels gets only events that share one with it, so an
event without channels goes only to webhooks without channels.
"""

from __future__ import annotations

import re
from typing import Any

from hookline.domain.limits import MAX_CHANNEL_LENGTH, MAX_CHANNELS
from hookline.errors import Invalid

CHANNEL_PATTERN = rf"^[a-zA-Z0-9\-_.:]{{1,{MAX_CHANNEL_LENGTH}}}$"
CHANNEL_RE = re.compile(CHANNEL_PATTERN)

Channels = tuple[str, ...]


def parse(value: Any) -> Channels:
    """The channels a JSON value names (null or an empty list: none), in the order given,
    each once; ``Invalid`` (``invalid_channels``) for anything else."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise Invalid("channels is a list of channel names.", code="invalid_channels")
    if len(value) > MAX_CHANNELS:
        raise Invalid(f"channels holds at most {MAX_CHANNELS} names.", code="invalid_channels")
    bad = [c for c in value if not isinstance(c, str) or not CHANNEL_RE.fullmatch(c)]
    if bad:
        raise Invalid(
            f"A channel name is 1-{MAX_CHANNEL_LENGTH} letters, digits, hyphens, underscores, "
            "dots or colons.",
            code="invalid_channels",
            details=[{"channel": c} for c in bad],
        )
    return tuple(dict.fromkeys(value))


def reaches(webhook: Channels, event: Channels) -> bool:
    """Whether an event carrying ``event`` channels goes to a webhook subscribed to
    ``webhook`` (its event types and filter aside)."""
    return not webhook or not set(webhook).isdisjoint(event)
