"""A webhook's last 24 hours as inline SVG, drawn on the server: deliveries per hour by
outcome (stacked bars), attempt latency (a dot per attempt, the hourly median as a line) and
the share of attempts that succeeded each hour (a bar per hour, also drawn small for the
endpoints table).

Pure: it takes the service layer's ``Activity`` and returns markup; no I/O, no scripts.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime

from markupsafe import Markup, escape

from hookline.domain.models import AttemptOutcome, DeliveryStatus
from hookline.service.deliveries import Activity
from hookline.store.port import HOUR_MS, AttemptHour

HOURS = 24
WIDTH, HEIGHT = 480, 190
LEFT, RIGHT, TOP, BOTTOM = 46, 6, 10, 24
TICKS = 4
PLOT_W = WIDTH - LEFT - RIGHT
PLOT_H = HEIGHT - TOP - BOTTOM


@dataclass(kw_only=True)
class Hour:
    start: int
    succeeded: int = 0
    failed: int = 0
    other: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.succeeded + self.failed + self.other

    @property
    def label(self) -> str:
        return datetime.fromtimestamp(self.start / 1000, tz=UTC).strftime("%H:%M")


@dataclass(frozen=True, kw_only=True)
class Picture:
    hours: list[Hour]
    outcomes: Markup
    latency: Markup
    succeeded: int
    failed: int
    other: int
    attempts: int
    median_ms: float | None
    truncated: bool


def window_start(now: int) -> int:
    """The first hour of the 24 shown: the current hour and the 23 before it."""
    return (now // HOUR_MS - (HOURS - 1)) * HOUR_MS


def picture(activity: Activity, now: int) -> Picture:
    start = window_start(now)
    hours = [Hour(start=start + i * HOUR_MS) for i in range(HOURS)]

    def bucket(ms: int) -> Hour | None:
        index = (ms - start) // HOUR_MS
        return hours[index] if 0 <= index < HOURS else None

    for dlv in activity.deliveries:
        hour = bucket(dlv.created_at)
        if hour is None:
            continue
        if dlv.status is DeliveryStatus.SUCCEEDED:
            hour.succeeded += 1
        elif dlv.status is DeliveryStatus.FAILED:
            hour.failed += 1
        else:
            hour.other += 1
    points: list[tuple[int, float, bool]] = []
    for att in activity.attempts:
        hour = bucket(att.started_at)
        if hour is not None:
            hour.latencies.append(att.duration_ms)
            points.append((att.started_at, att.duration_ms, att.outcome is AttemptOutcome.SUCCESS))
    durations = [p[1] for p in points]
    return Picture(
        hours=hours,
        outcomes=_outcome_svg(hours),
        latency=_latency_svg(hours, points, start),
        succeeded=sum(h.succeeded for h in hours),
        failed=sum(h.failed for h in hours),
        other=sum(h.other for h in hours),
        attempts=len(points),
        median_ms=statistics.median(durations) if durations else None,
        truncated=activity.truncated,
    )


def axis_top(value: float) -> float:
    """The top of an axis of TICKS equal steps, each 1, 2 or 5 times a power of ten (at
    least 1), that reaches ``value``: 4 for 3, 8 for 7, 20 for 11, 400 for 310."""
    wanted = max(value / TICKS, 1.0)
    power = 10 ** math.floor(math.log10(wanted))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= wanted)
    return float(step * TICKS)


def _frame(title: str, desc: str, ident: str, top: float, unit: str, body: list[str]) -> Markup:
    lines = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">{escape(desc)}</desc>',
    ]
    for i in range(TICKS + 1):
        value = top * i / TICKS
        y = TOP + PLOT_H - PLOT_H * i / TICKS
        lines.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        text = f"{value:g}{unit}" if value < 10_000 else f"{value / 1000:g}k{unit}"
        lines.append(
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{text}</text>'
        )
    lines += body
    lines.append("</svg>")
    return Markup("\n".join(lines))


def _x_labels(hours: list[Hour]) -> list[str]:
    """Every fourth hour counted back from the current one, which is labelled as now."""
    slot = PLOT_W / HOURS
    labels = [
        f'<text class="axis" x="{LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - 6}" '
        f'text-anchor="middle">{h.label}</text>'
        for i, h in enumerate(hours[:-1])
        if (HOURS - 1 - i) % 4 == 0
    ]
    labels.append(
        f'<text class="axis now" x="{LEFT + PLOT_W}" y="{HEIGHT - 6}" text-anchor="end">'
        f"<title>The current hour, from {hours[-1].label} UTC</title>now</text>"
    )
    return labels


def _outcome_svg(hours: list[Hour]) -> Markup:
    top = axis_top(max(h.total for h in hours))
    slot = PLOT_W / HOURS
    body: list[str] = []
    for i, hour in enumerate(hours):
        x = LEFT + slot * i + 2
        base = float(TOP + PLOT_H)
        tip = (
            f"{hour.label} UTC: {hour.succeeded} succeeded, {hour.failed} failed, "
            f"{hour.other} in progress"
        )
        body.append(f"<g><title>{escape(tip)}</title>")
        for count, cls in ((hour.succeeded, "ok"), (hour.failed, "fail"), (hour.other, "other")):
            if not count:
                continue
            height = PLOT_H * count / top
            base -= height
            body.append(
                f'<rect class="bar {cls}" x="{x:.1f}" y="{base:.1f}" '
                f'width="{slot - 4:.1f}" height="{height:.1f}"/>'
            )
        body.append(
            f'<rect class="hit" x="{x:.1f}" y="{TOP}" width="{slot - 4:.1f}" height="{PLOT_H}"/></g>'
        )
    total = sum(h.total for h in hours)
    desc = (
        f"{total} deliveries in the last 24 hours: {sum(h.succeeded for h in hours)} succeeded, "
        f"{sum(h.failed for h in hours)} failed, {sum(h.other for h in hours)} in progress."
    )
    return _frame(
        "Deliveries per hour by outcome", desc, "outcomes", top, "", body + _x_labels(hours)
    )


def _latency_svg(hours: list[Hour], points: list[tuple[int, float, bool]], start: int) -> Markup:
    top = axis_top(max((p[1] for p in points), default=0))
    span = HOURS * HOUR_MS
    slot = PLOT_W / HOURS

    def y_of(ms: float) -> float:
        return TOP + PLOT_H - PLOT_H * min(ms, top) / top

    body: list[str] = []
    for at, ms, ok in points:
        x = LEFT + PLOT_W * (at - start) / span
        cls = "ok" if ok else "fail"
        body.append(
            f'<circle class="dot {cls}" cx="{x:.1f}" cy="{y_of(ms):.1f}" r="2.5">'
            f"<title>{ms:.0f} ms</title></circle>"
        )
    medians = [
        (LEFT + slot * (i + 0.5), y_of(statistics.median(h.latencies)))
        for i, h in enumerate(hours)
        if h.latencies
    ]
    if len(medians) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in medians)
        body.append(f'<polyline class="median" points="{path}"/>')
    elif medians:
        x, y = medians[0]
        body.append(
            f'<line class="median" x1="{x - 8:.1f}" x2="{x + 8:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
    durations = [p[1] for p in points]
    desc = (
        f"{len(points)} attempts; median {statistics.median(durations):.0f} ms, "
        f"slowest {max(durations):.0f} ms."
        if durations
        else "No attempts in the last 24 hours."
    )
    return _frame("Attempt latency", desc, "latency", top, "ms", body + _x_labels(hours))


def success_rate(hours: tuple[AttemptHour, ...], now: int, *, small: bool = False) -> Markup:
    """The share of attempts that succeeded in each of the last 24 hours: a bar per hour
    that had attempts, as tall as its share (a sliver for none), green when every attempt
    succeeded, red when none did, amber between; an hour without attempts is left empty.
    ``small``: the sparkline of the endpoints table, without axes."""
    start = window_start(now)
    by_start = {h.start: h for h in hours}
    shown = [by_start.get(start + i * HOUR_MS) for i in range(HOURS)]
    if small:
        width, height, left, top, plot_h = 96, 20, 0, 1, 18
    else:
        width, height, left, top, plot_h = WIDTH, HEIGHT, LEFT, TOP, PLOT_H
    plot_w = width - (RIGHT if not small else 0) - left
    slot = plot_w / HOURS
    body: list[str] = []
    for i, hour in enumerate(shown):
        if hour is None or not hour.succeeded + hour.failed:
            continue
        total = hour.succeeded + hour.failed
        share = hour.succeeded / total
        cls = "ok" if share == 1 else "fail" if share == 0 else "mixed"
        bar = max(plot_h * share, 2.0)
        label = datetime.fromtimestamp((start + i * HOUR_MS) / 1000, tz=UTC).strftime("%H:%M")
        tip = f"{label} UTC: {hour.succeeded} of {total} attempts succeeded ({share:.0%})"
        x = left + slot * i + (0.5 if small else 2)
        body.append(
            f"<g><title>{escape(tip)}</title>"
            f'<rect class="bar {cls}" x="{x:.1f}" y="{top + plot_h - bar:.1f}" '
            f'width="{slot - (1 if small else 4):.1f}" height="{bar:.1f}"/></g>'
        )
    succeeded = sum(h.succeeded for h in hours if h.start >= start)
    total = succeeded + sum(h.failed for h in hours if h.start >= start)
    desc = (
        f"{succeeded} of {total} attempts succeeded in the last 24 hours ({succeeded / total:.0%})."
        if total
        else "No attempts in the last 24 hours."
    )
    if not small:
        labels = _x_labels([Hour(start=start + i * HOUR_MS) for i in range(HOURS)])
        return _frame("Attempts that succeeded, per hour", desc, "rate", 100.0, "%", body + labels)
    return Markup(
        f'<svg class="chart spark" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(desc)}</title>'
        f'<line class="grid" x1="0" x2="{width}" y1="{top + plot_h}" y2="{top + plot_h}"/>'
        + "".join(body)
        + "</svg>"
    )
