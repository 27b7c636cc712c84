"""The relay loop, over any outbox table that implements ``Source``."""

from __future__ import annotations

import logging
import random
import socket
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from hookline.client import Client, ClientError
from hookline.client.models import BatchItem

log = logging.getLogger("hookline.outbox")

MAX_BATCH = 1000  # the most events Hookline accepts in one batch
# A relay's exit status after ``--once`` left rows to wait for another run (Hookline
# unreachable or busy): the command line's status for an unreachable Hookline.
EXIT_WAITING = 3


@dataclass(frozen=True, kw_only=True)
class Pending:
    """One outbox row a relay claimed: its id is the event's idempotency key."""

    id: str
    workspace_id: str | None
    type: str
    data: Mapping[str, Any]
    attempts: int


class Source(Protocol):
    """An outbox table. Every change is fenced by ``owner``: a relay whose lease ran out
    and whose rows another relay claimed changes nothing."""

    def claim(self, owner: str, limit: int, until: datetime) -> list[Pending]:
        """Lease up to ``limit`` due, unsent rows to ``owner`` until ``until``, oldest first."""
        ...

    def sent(self, owner: str, ids: Sequence[str], at: datetime) -> None:
        """Mark rows as sent: Hookline holds their events."""
        ...

    def retry(self, owner: str, due: Mapping[str, datetime], error: str) -> None:
        """Give rows back, each due again at its time, recording why."""
        ...

    def refuse(self, owner: str, errors: Mapping[str, str], at: datetime) -> None:
        """Set rows aside that Hookline refused for good (their event is invalid): kept,
        with the reason, for a person to fix and requeue; never sent as they are."""
        ...


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """A row's wait after its n-th failed send: ``initial`` doubling to ``maximum``, jittered."""

    initial: float = 1.0
    maximum: float = 300.0

    def delay(self, attempts: int) -> float:
        ceiling = min(self.maximum, self.initial * 2 ** max(attempts - 1, 0))
        return random.uniform(ceiling / 2, ceiling)


@dataclass(kw_only=True)
class Report:
    """What one pass did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)


def _owner() -> str:
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:12]}"


# A refusal of one event worth trying again; any other 4xx is the event's own fault.
_TRANSIENT = frozenset({408, 409, 425, 429})


class Relay:
    """Moves pending outbox rows to Hookline.

    ``workspace`` is where rows without a workspace of their own go. ``lease`` must be
    longer than one batch takes to send (the client's own retries included).
    """

    def __init__(
        self,
        source: Source,
        client: Client,
        *,
        workspace: str | None = None,
        batch_size: int = 100,
        lease: float = 60.0,
        backoff: Backoff | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size is 1 to {MAX_BATCH}, not {batch_size}")
        self.source = source
        self.client = client
        self.workspace = workspace
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease)
        self.backoff = backoff or Backoff()
        self.owner = _owner()

    def run_once(self) -> Report:
        """Claim one batch and send it; what happened to each row."""
        report = Report()
        now = datetime.now(UTC)
        rows = self.source.claim(self.owner, self.batch_size, now + self.lease)
        report.claimed = len(rows)
        groups: dict[str, list[Pending]] = {}
        for row in rows:
            target = row.workspace_id or self.workspace
            if target is None:
                self._refuse(report, {row.id: "no workspace: the row has none and the relay none"})
                continue
            groups.setdefault(target, []).append(row)
        for workspace, group in groups.items():
            self._send(report, workspace, group)
        return report

    def drain(self) -> Report:
        """Relay every row due now, batch after batch, logging each pass; what they did in all
        (``retried``: rows that must wait for another run)."""
        total = Report()
        while True:
            report = self.run_once()
            log.info(
                "outbox pass: %d sent, %d retried, %d refused",
                report.sent,
                report.retried,
                report.refused,
            )
            total.claimed += report.claimed
            total.sent += report.sent
            total.retried += report.retried
            total.refused += report.refused
            total.errors += report.errors
            if report.claimed < self.batch_size:
                return total

    def run(self, stop: threading.Event, *, idle: float = 1.0) -> None:
        """Relay until ``stop`` is set, waiting ``idle`` seconds whenever nothing is due."""
        log.info("outbox relay %s started", self.owner)
        while not stop.is_set():
            try:
                report = self.run_once()
            except Exception:
                # The application's database failed us: nothing was marked, the leases expire.
                log.exception("outbox relay pass failed; trying again in %.1f s", idle)
                stop.wait(idle)
                continue
            if report.claimed:
                log.info(
                    "outbox pass: %d sent, %d retried, %d refused",
                    report.sent,
                    report.retried,
                    report.refused,
                )
            if report.claimed < self.batch_size:
                stop.wait(idle)
        log.info("outbox relay %s stopped", self.owner)

    def _send(self, report: Report, workspace: str, rows: list[Pending]) -> None:
        events = [{"type": r.type, "data": dict(r.data), "id": r.id} for r in rows]
        try:
            results = self.client.send_batch(workspace, events)
        except ClientError as exc:
            self._retry(report, rows, str(exc))
            return
        self._settle(report, rows, results)

    def _settle(self, report: Report, rows: list[Pending], results: list[BatchItem]) -> None:
        sent: list[str] = []
        again: list[Pending] = []
        refused: dict[str, str] = {}
        for row, result in zip(rows, results, strict=True):
            if result.ok:
                sent.append(row.id)
            elif result.status >= 500 or result.status in _TRANSIENT:
                again.append(row)
            else:
                error = result.error
                refused[row.id] = f"{result.status} {error.code}: {error.message}" if error else ""
        if sent:
            self.source.sent(self.owner, sent, datetime.now(UTC))
            report.sent += len(sent)
        if again:
            self._retry(report, again, "Hookline could not take them now")
        if refused:
            self._refuse(report, refused)

    def _retry(self, report: Report, rows: list[Pending], error: str) -> None:
        now = datetime.now(UTC)
        due = {r.id: now + timedelta(seconds=self.backoff.delay(r.attempts + 1)) for r in rows}
        self.source.retry(self.owner, due, error)
        report.retried += len(rows)
        report.errors.append(error)
        log.warning("outbox: %d event(s) wait for another try: %s", len(rows), error)

    def _refuse(self, report: Report, errors: Mapping[str, str]) -> None:
        self.source.refuse(self.owner, errors, datetime.now(UTC))
        report.refused += len(errors)
        for row_id, error in errors.items():
            log.error("outbox: Hookline refused event %s for good: %s", row_id, error)
