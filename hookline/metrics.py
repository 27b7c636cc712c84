"""Prometheus metrics, served at ``/metrics``.

Counters and the attempt histogram are this process's own (scrape every
process), except under ``hookline serve`` with dispatcher processes: there every
process of the server keeps them in files in ``PROMETHEUS_MULTIPROC_DIR`` and the
API's ``/metrics`` reports their sums. Queue depth, the oldest due delivery's lag and
the stuck deliveries are read from the database at scrape time, so any process reports
the whole queue.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from hookline.domain.models import STUCK_AFTER_FAULTS, DeliveryStatus
from hookline.ids import now_ms
from hookline.store.port import Queue

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._queue = _QueueGauges()
        shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if shared:
            # Counters still register here, but /metrics reads the processes' files instead.
            self._exposed = CollectorRegistry()
            MultiProcessCollector(self._exposed, path=shared)  # type: ignore[no-untyped-call]
        else:
            self._exposed = self.registry
        self._exposed.register(self._queue)
        self.events_ingested = Counter(
            "hookline_events_ingested",
            "Events accepted by this process (idempotent repeats excluded).",
            registry=self.registry,
        )
        self.deliveries = Counter(
            "hookline_deliveries",
            "Delivery outcomes: succeeded, failed (final) or retry (rescheduled) after an attempt; "
            "expired (its event's ttl ran out before the next attempt); cancelled (its webhook's "
            "transformation said not to send it).",
            ["outcome"],
            registry=self.registry,
        )
        self.attempt_duration = Histogram(
            "hookline_attempt_duration_seconds",
            "Duration of each delivery attempt, from request start to response or error.",
            buckets=_DURATION_BUCKETS,
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

    async def render(self, store: Queue) -> bytes:
        """The Prometheus text exposition, with the queue gauges read from ``store`` now."""
        now = now_ms()
        stats = await store.queue_stats()
        self._queue.counts = stats.counts
        oldest_due = stats.oldest_due
        self._queue.lag = 0.0 if oldest_due is None else max(0.0, (now - oldest_due) / 1000)
        self._queue.stuck = stats.stuck
        return generate_latest(self._exposed)


class _QueueGauges(Collector):
    """The queue gauges, as last read from the database (by ``Metrics.render``)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.lag = 0.0
        self.stuck = 0

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "hookline_queue_depth",
            "Unfinished deliveries in the database, by status (pending, held, sending).",
            labels=["status"],
        )
        for status in (DeliveryStatus.PENDING, DeliveryStatus.HELD, DeliveryStatus.SENDING):
            depth.add_metric([status], self.counts.get(status, 0))
        yield depth
        yield GaugeMetricFamily(
            "hookline_oldest_pending_age_seconds",
            "How long the most overdue pending delivery has been due (0 when none is).",
            value=self.lag,
        )
        yield GaugeMetricFamily(
            "hookline_deliveries_stuck",
            f"Deliveries deferred by {STUCK_AFTER_FAULTS} or more faults of Hookline's own in "
            "a row (still retried; each delivery logged once at ERROR): alert when above 0.",
            value=self.stuck,
        )
