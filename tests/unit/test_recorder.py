"""The recorder on a fake queue: group commits, a refused batch written record by record, a
batch the store has no room for kept whole until it has."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hookline.dispatch.recorder import Recorder
from hookline.domain.models import Attempt, AttemptOutcome, Delivery, DeliveryStatus
from hookline.domain.statuses import StopReason
from hookline.errors import StorageFull
from hookline.metrics import Metrics
from hookline.store.port import AttemptRecord


class FakeQueue:
    """Records what it is asked to write; refuses any batch holding a delivery in ``gone``
    (deleted while its attempt ran), as a database refuses the foreign key."""

    def __init__(self, *, gone: frozenset[str] = frozenset(), full: int = 0) -> None:
        self.batches: list[list[str]] = []
        self.gone = gone
        self.full = full  # writes refused for lack of space before the store takes them
        self.deferred: list[str] = []

    async def record_attempts(
        self, owner: str, records: list[AttemptRecord]
    ) -> list[tuple[str, StopReason]]:
        ids = [r.attempt.delivery_id for r in records]
        if self.full > 0:
            self.full -= 1
            raise StorageFull()
        if any(i in self.gone for i in ids):
            raise OSError("refused")
        self.batches.append(ids)
        return [(r.webhook_id, r.stop_webhook) for r in records if r.stop_webhook]

    async def defer(self, owner: str, dlv_id: str, *, until: int, error: str) -> bool:
        self.deferred.append(dlv_id)
        return True

    async def get_delivery(self, dlv_id: str) -> Delivery | None:
        if dlv_id in self.gone:
            return None
        return Delivery(
            id=dlv_id,
            event_id="evt_1",
            event_type="job.done",
            webhook_id="wh_1",
            workspace_id="ws_1",
            status=DeliveryStatus.SENDING,
            attempt_count=0,
            next_attempt_at=None,
            last_status_code=None,
            last_error=None,
            created_at=1,
            completed_at=None,
            resent_from=None,
        )


class FakeNotices:
    def __init__(self) -> None:
        self.paused_webhooks: list[str] = []

    async def stopped(self, wh_id: str) -> bool:
        self.paused_webhooks.append(wh_id)
        return True


def record(dlv_id: str, *, pause: bool = False) -> AttemptRecord:
    attempt = Attempt(
        id=f"att_{dlv_id}",
        delivery_id=dlv_id,
        number=1,
        started_at=1,
        duration_ms=1.0,
        request={},
        response=None,
        error="timeout",
        outcome=AttemptOutcome.FAILURE,
    )
    return AttemptRecord(
        attempt=attempt,
        webhook_id=f"wh_{dlv_id}",
        status=DeliveryStatus.FAILED,
        next_attempt_at=None,
        status_code=None,
        error="timeout",
        completed_at=2,
        stop_webhook=StopReason.TOO_MANY_FAILURES if pause else None,
    )


class NoOperator:
    """Operational webhooks off: no operator workspace."""

    async def enabled(self) -> bool:
        return False


def recorder(
    queue: FakeQueue, notices: Any, recorded: list[int], metrics: Metrics | None = None
) -> Recorder:
    return Recorder(
        queue,  # type: ignore[arg-type]
        queue,  # type: ignore[arg-type]
        "tests:recorder",
        metrics=metrics or Metrics(),
        notices=notices,
        operational=NoOperator(),  # type: ignore[arg-type]
        fault_retry_seconds=1.0,
        recorded=lambda: recorded.append(1),
    )


async def close(rec: Recorder) -> None:
    await asyncio.wait_for(rec.close(give_up_at=time.monotonic() + 5, grace=1), 5)


async def test_records_waiting_together_are_written_in_one_batch() -> None:
    queue, notices, recorded = FakeQueue(), FakeNotices(), []
    rec = recorder(queue, notices, recorded)
    rec.start()
    for n in range(5):
        rec.add(record(f"d{n}", pause=n == 3), faults=0)
    await close(rec)
    assert queue.batches == [["d0", "d1", "d2", "d3", "d4"]]
    assert recorded == [1]
    assert notices.paused_webhooks == ["wh_d3"]


async def test_a_refused_batch_is_written_record_by_record_and_a_deleted_delivery_dropped() -> None:
    queue, notices, recorded, metrics = (
        FakeQueue(gone=frozenset({"d1"})),
        FakeNotices(),
        [],
        Metrics(),
    )
    rec = recorder(queue, notices, recorded, metrics)
    rec.start()
    for n in range(3):
        rec.add(record(f"d{n}", pause=True), faults=0)
    await close(rec)
    assert queue.batches == [["d0"], ["d2"]]
    assert notices.paused_webhooks == ["wh_d0", "wh_d2"]
    errors = metrics.registry.get_sample_value(
        "hookline_internal_errors_total", {"stage": "record"}
    )
    assert errors == 2  # the batch, then the deleted delivery's record alone


async def test_a_batch_the_store_has_no_room_for_is_kept_whole_and_written_once_it_has() -> None:
    queue, notices, recorded, metrics = FakeQueue(full=4), FakeNotices(), [], Metrics()
    rec = recorder(queue, notices, recorded, metrics)
    rec.start()
    for n in range(3):
        rec.add(record(f"d{n}"), faults=0)
    await close(rec)
    # Not written one by one, not put back in the queue: the whole batch, once there is room.
    assert queue.batches == [["d0", "d1", "d2"]]
    assert queue.deferred == []
    assert recorded == [1]
    errors = metrics.registry.get_sample_value(
        "hookline_internal_errors_total", {"stage": "record"}
    )
    assert errors == 4
