"""Prometheus metrics of one process, served at ``/metrics``.

Counters and the attempt histogram are this process's own (scrape every
process); queue depth and the oldest due delivery's lag are read from the
database at scrape time, so any process reports the whole queue.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from hookline.ids import now_ms
from hookline.store.port import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_ingested = Counter(
            "hookline_events_ingested",
            "Events accepted by this process (idempotent repeats excluded).",
            registry=self.registry,
        )
        self.deliveries = Counter(
            "hookline_deliveries",
            "Attempt outcomes for deliveries: succeeded, failed (final) or retry (rescheduled).",
            ["outcome"],
            registry=self.registry,
        )
        self.attempt_duration = Histogram(
            "hookline_attempt_duration_seconds",
            "Duration of each delivery attempt, from request start to response or error.",
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "hookline_queue_depth",
            "Unfinished deliveries in the database, by status (pending, held, sending).",
            ["status"],
            registry=self.registry,
        )
        self.oldest_pending_age = Gauge(
            "hookline_oldest_pending_age_seconds",
            "How long the most overdue pending delivery has been due (0 when none is).",
            registry=self.registry,
        )
        self.internal_errors = Counter(
            "hookline_internal_errors",
            "Faults of Hookline's own while dispatching (prepare, send, decide, record): the "
            "delivery is retried later, without counting an attempt.",
            ["stage"],
            registry=self.registry,
        )

    def __repr__(self) -> str:
        return "Metrics()"

    async def render(self, store: Store) -> bytes:
        """The Prometheus text exposition, with the queue gauges read from ``store`` now."""
        now = now_ms()
        counts, oldest_due = await store.queue_stats()
        for status in ("pending", "held", "sending"):
            self.queue_depth.labels(status=status).set(counts.get(status, 0))
        lag = 0.0 if oldest_due is None else max(0.0, (now - oldest_due) / 1000)
        self.oldest_pending_age.set(lag)
        return generate_latest(self.registry)
