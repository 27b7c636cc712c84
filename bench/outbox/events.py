"""The bench's one event: the same data as every other run's (``bench.api.event_data``)."""

from __future__ import annotations

from dataclasses import dataclass

from django_domain_events import event


@event(name="bench.outbox")
@dataclass(frozen=True, slots=True)
class BenchEvent:
    n: int
    user: str
    note: str
    id: str
