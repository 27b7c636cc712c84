"""The last-24-hours picture: bucketing by hour and outcome, axes, and safe SVG."""

from __future__ import annotations

import re

from hookline.domain.models import Attempt, Delivery, DeliveryStatus
from hookline.service.deliveries import Activity
from hookline.store.port import AttemptHour
from hookline.ui.charts import HOUR_MS, HOURS, axis_top, picture, success_rate, window_start

NOW = 1_795_000_000_000 + 1234  # some moment inside an hour


def delivery(n: int, at: int, status: DeliveryStatus) -> Delivery:
    return Delivery(
        id=f"dlv_{n:026d}",
        event_id=f"evt_{n}",
        event_type="a.b",
        webhook_id="wh_x",
        workspace_id="ws",
        status=status,
        attempt_count=1,
        next_attempt_at=None,
        last_status_code=200,
        last_error=None,
        created_at=at,
        completed_at=at,
        resent_from=None,
    )


def attempt(n: int, at: int, ms: float, ok: bool) -> Attempt:
    return Attempt(
        id=f"att_{n}",
        delivery_id=f"dlv_{n}",
        number=1,
        started_at=at,
        duration_ms=ms,
        request={},
        response=None,
        error=None,
        outcome="success" if ok else "failure",
    )


def test_deliveries_are_counted_per_hour_by_outcome() -> None:
    start = window_start(NOW)
    assert start % HOUR_MS == 0
    assert NOW - start < HOURS * HOUR_MS
    deliveries = [
        delivery(1, NOW, DeliveryStatus.SUCCEEDED),
        delivery(2, NOW - 10, DeliveryStatus.FAILED),
        delivery(3, NOW - 20, DeliveryStatus.PENDING),
        delivery(4, start, DeliveryStatus.SUCCEEDED),  # the first hour shown
        delivery(5, start - 1, DeliveryStatus.SUCCEEDED),  # just before the window
    ]
    attempts = [attempt(1, NOW, 40, True), attempt(2, NOW, 60, False), attempt(4, start, 10, True)]
    pic = picture(Activity(deliveries=deliveries, attempts=attempts, truncated=False), NOW)
    assert len(pic.hours) == HOURS
    last, first = pic.hours[-1], pic.hours[0]
    assert (last.succeeded, last.failed, last.other) == (1, 1, 1)
    assert (first.succeeded, first.failed, first.other) == (1, 0, 0)
    assert (pic.succeeded, pic.failed, pic.other) == (2, 1, 1)
    assert pic.attempts == 3 and pic.median_ms == 40
    assert last.latencies == [40, 60]
    svg = str(pic.outcomes)
    assert svg.startswith("<svg") and svg.count('class="bar ok"') == 2
    assert svg.count('class="bar fail"') == 1 and svg.count('class="bar other"') == 1
    assert "4 deliveries in the last 24 hours: 2 succeeded, 1 failed, 1 in progress." in svg
    latency = str(pic.latency)
    assert latency.count("<circle") == 3 and "<polyline" in latency
    assert "<script" not in svg + latency


def test_an_empty_window_draws_empty_axes() -> None:
    pic = picture(Activity(deliveries=[], attempts=[], truncated=False), NOW)
    assert pic.median_ms is None
    assert "No attempts in the last 24 hours." in str(pic.latency)
    assert '<rect class="bar' not in str(pic.outcomes)


def test_axis_tops_divide_into_round_steps() -> None:
    assert [axis_top(v) for v in (0, 1, 3, 4, 5, 7, 11, 39, 41, 310, 12_000)] == [
        4,
        4,
        4,
        4,
        8,
        8,
        20,
        40,
        80,
        400,
        20_000,
    ]


def test_the_current_hour_is_labelled_on_both_charts() -> None:
    deliveries = [delivery(1, NOW, DeliveryStatus.SUCCEEDED)]
    attempts = [attempt(1, NOW, 40, True)]
    pic = picture(Activity(deliveries=deliveries, attempts=attempts, truncated=False), NOW)
    current = pic.hours[-1].label
    for svg in (str(pic.outcomes), str(pic.latency)):
        assert f"<title>The current hour, from {current} UTC</title>now</text>" in svg
        # The other labels count back from it in steps of four hours.
        shown = re.findall(r'text-anchor="middle">(\d\d:\d\d)</text>', svg)
        assert shown == [h.label for h in pic.hours[3:23:4]]


def test_the_success_rate_is_a_bar_per_hour_with_attempts() -> None:
    start = window_start(NOW)
    hours = (
        AttemptHour(start=start - HOUR_MS, succeeded=9, failed=0),  # before the window
        AttemptHour(start=start, succeeded=3, failed=1),
        AttemptHour(start=start + 5 * HOUR_MS, succeeded=0, failed=4),
        AttemptHour(start=start + 23 * HOUR_MS, succeeded=2, failed=0),
    )
    big = str(success_rate(hours, NOW))
    assert big.count('class="bar mixed"') == 1 and big.count('class="bar fail"') == 1
    assert big.count('class="bar ok"') == 1
    assert "5 of 10 attempts succeeded in the last 24 hours (50%)." in big
    assert "3 of 4 attempts succeeded (75%)" in big
    assert ">100%<" in big
    small = str(success_rate(hours, NOW, small=True))
    assert 'class="chart spark"' in small and small.count("<rect") == 3
    assert "No attempts in the last 24 hours." in str(success_rate((), NOW, small=True))
