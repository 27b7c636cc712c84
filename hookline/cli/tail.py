"""``hookline tail``: a workspace's deliveries live, polled, like ``stripe listen``.

There is no stream to subscribe to, so it polls the newest deliveries (``since`` the newest it
has seen, or the oldest still in flight), shows each one that is new or has changed, and keeps
what it has shown only as long as a poll can return it again.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import click
from rich.markup import escape

from hookline.cli.api import (
    DELIVERY_STATUSES,
    FINAL,
    api_command,
    dump,
    err,
    out,
    outcome_text,
    status_text,
    when_text,
)
from hookline.client import Client, ConnectionFailed, Delivery

# A delivery's second line shows if it settles within this time of its creation.
FOLLOW_FOR = timedelta(minutes=15)


@api_command()
@click.option("--workspace", "-w", required=True, help="Workspace id.")
@click.option("--webhook", default=None, help="Only this webhook's deliveries.")
@click.option("--status", "statuses", type=click.Choice(DELIVERY_STATUSES), multiple=True,
              help="Only lines for deliveries in this status (repeat it for several).")  # fmt: skip
@click.option("--interval", type=click.FloatRange(min=0.1), default=1.0, show_default=True,
              help="Seconds between polls.")  # fmt: skip
@click.option("--max-events", type=click.IntRange(min=1), default=None, hidden=True,
              help="Stop after printing this many lines (for tests and scripts).")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(min=0), default=None, hidden=True,
              help="Stop after this many seconds (for tests and scripts).")  # fmt: skip
def tail(
    client: Client,
    as_json: bool,
    workspace: str,
    webhook: str | None,
    statuses: tuple[str, ...],
    interval: float,
    max_events: int | None,
    timeout: float | None,
) -> None:
    """Follow a workspace's new deliveries live, and each one again when it settles."""
    follower = _Follower(datetime.now(UTC) - timedelta(seconds=1))
    deadline = None if timeout is None else time.monotonic() + timeout
    printed = 0
    # A supervisor's or ``timeout``'s SIGTERM ends it as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        lost: ConnectionFailed | None = None
        while deadline is None or time.monotonic() < deadline:
            try:
                changed = follower.changes(_newest(client, workspace, webhook, follower.since))
            except ConnectionFailed as exc:
                # Unreachable from the start is a wrong URL (exit 3); later, a restart to wait out.
                if follower.polls == 0:
                    raise
                if lost is None:
                    err.print(f"lost Hookline ({exc}); trying again", style="yellow", markup=False)
                lost = exc
                time.sleep(interval)
                continue
            if follower.polls == 1:
                # Once Hookline answered; on stderr, so that it does not mix with JSON lines.
                err.print(f"following deliveries of {workspace} (Ctrl-C to stop)", style="dim")
            if lost is not None:
                err.print("Hookline is back", style="dim")
                lost = None
            for d in changed:
                if statuses and d.status not in statuses:
                    continue
                _print_delivery(d, as_json)
                printed += 1
                if max_events is not None and printed >= max_events:
                    return
            time.sleep(interval)
    except KeyboardInterrupt:
        return


def _newest(
    client: Client, workspace: str, webhook: str | None, since: datetime
) -> Iterable[Delivery]:
    if webhook is not None:
        return client.deliveries(webhook_id=webhook, since=since, page_size=250)
    return client.deliveries(workspace, since=since, page_size=250)


class _Follower:
    """What ``tail`` has shown: each delivery's status and attempt count when last printed.

    Unsettled deliveries are polled again until they settle, but only for ``follow_for`` after
    their creation: one retrying for a day must not make every poll read a day of deliveries.
    """

    def __init__(self, since: datetime, follow_for: timedelta = FOLLOW_FOR) -> None:
        self.start = since
        self.follow_for = follow_for
        self.shown: dict[str, tuple[str, int]] = {}
        self.open: dict[str, datetime] = {}  # unsettled deliveries, by creation time
        self.polls = 0

    @property
    def since(self) -> datetime:
        """Far enough back to see every followed unsettled delivery again, else the newest."""
        return min(self.open.values(), default=self.start)

    def changes(self, found: Iterable[Delivery], now: datetime | None = None) -> list[Delivery]:
        """The deliveries new or changed since the last poll, oldest first.

        ``found`` is everything since ``since``; what it no longer holds is never asked for
        again, so it is forgotten (a long tail keeps only the recent deliveries in memory).
        """
        changed: list[Delivery] = []
        seen: dict[str, tuple[str, int]] = {}
        for d in sorted(found, key=lambda d: (d.created_at, d.id)):
            seen[d.id] = (d.status, d.attempt_count)
            if self.shown.get(d.id) == seen[d.id]:
                continue
            changed.append(d)
            if d.status in FINAL:
                self.open.pop(d.id, None)
            else:
                self.open[d.id] = d.created_at
            self.start = max(self.start, d.created_at)
        horizon = (now or datetime.now(UTC)) - self.follow_for
        self.shown = seen
        self.polls += 1
        self.open = {i: at for i, at in self.open.items() if i in seen and at >= horizon}
        return changed


def _print_delivery(d: Delivery, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(dump(d)))
        return
    out.print(
        f"{when_text(d.created_at)}  {status_text(d.status, 9)}  {escape(d.event_type)}  {d.event_id}  "
        f"→ {d.webhook_id}  \\[{outcome_text(d)}] x{d.attempt_count}"
    )
