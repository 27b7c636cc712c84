"""The outcome step: a send result and the retry policy's decision → a verdict and its record."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.dispatch.outcome import Expired, Failed, RetryAt, Succeeded, conclude, verdict_of
from hookline.dispatch.prepare import PendingDispatch
from hookline.dispatch.transport import OutboundRequest, SendResult
from hookline.domain.models import AttemptOutcome, DeliveryStatus, Event, Webhook
from hookline.domain.retry import Decision, RetryPolicy
from hookline.domain.statuses import StopReason, WebhookStatus
from hookline.domain.workspace_settings import WorkspaceSettings
from hookline.store.port import Claim

STARTED = 1_773_828_300_000
FINISHED = STARTED + 120


def claim(
    *, attempt: int = 1, tags: list[str] | None = None, expires_at: int | None = None
) -> Claim:
    webhook = Webhook(
        id="wh_1",
        workspace_id="ws_1",
        url="https://receiver.example/hook",
        name="",
        description="",
        events=["*"],
        headers={"Authorization": "Bearer sekrit"},
        status=WebhookStatus.ACTIVE,
        status_reason=None,
        status_changed_by=None,
        status_changed_at=None,
        retry_policy=None,
        rate_limit=None,
        ordering="none",
        metadata={},
        created_at=STARTED,
        updated_at=STARTED,
    )
    event = Event(id="evt_1", workspace_id="ws_1", type="job.done", data_json="{}", created_at=1)
    return Claim(
        delivery_id="dlv_1",
        attempt=attempt,
        tags=tags or [],
        event=event,
        webhook=webhook,
        webhook_secret="sealed",
        workspace_settings=WorkspaceSettings(),
        expires_at=expires_at,
    )


def pending(
    *,
    attempt: int = 1,
    tags: list[str] | None = None,
    expires_at: int | None = None,
    **policy: Any,
) -> PendingDispatch:
    c = claim(attempt=attempt, tags=tags, expires_at=expires_at)
    return PendingDispatch(
        claim=c,
        request=OutboundRequest(
            url=c.webhook.url,
            headers={"Authorization": "Bearer sekrit", "Content-Type": "application/json"},
            body=b'{"type":"job.done"}',
            timeout=10.0,
        ),
        policy=RetryPolicy(**{"jitter": 0.0, **policy}),
        timestamp=STARTED // 1000,
    )


def result(
    status: int | None = 200, *, error: str | None = None, final_url: str | None = None
) -> SendResult:
    return SendResult(
        status_code=status,
        headers={"Content-Type": "text/plain"} if status is not None else {},
        body="ok" if status is not None else "",
        truncated=False,
        error=error,
        duration_ms=120.0,
        retry_after=None,
        final_url=final_url or "https://receiver.example/hook",
    )


def run(p: PendingDispatch, r: SendResult) -> Any:
    return conclude(p, r, attempt_id="att_1", started=STARTED, finished=FINISHED)


def test_a_2xx_succeeds_and_completes_the_delivery() -> None:
    done = run(pending(), result(204))
    assert done.verdict == Succeeded()
    record = done.record
    assert record.status is DeliveryStatus.SUCCEEDED
    assert record.completed_at == FINISHED
    assert record.next_attempt_at is None
    assert record.stop_webhook is None
    assert record.status_code == 204 and record.error is None
    assert record.webhook_id == "wh_1"
    attempt = record.attempt
    assert (attempt.id, attempt.delivery_id, attempt.number) == ("att_1", "dlv_1", 1)
    assert attempt.started_at == STARTED and attempt.duration_ms == 120.0
    assert attempt.outcome is AttemptOutcome.SUCCESS
    assert attempt.response == {
        "status": 204,
        "headers": {"Content-Type": "text/plain"},
        "body": "ok",
        "truncated": False,
    }


def test_a_retryable_answer_is_pending_again_at_the_policys_time() -> None:
    done = run(pending(attempt=1), result(503))
    assert done.verdict == RetryAt(FINISHED + 5_000)  # the default schedule's second step
    record = done.record
    assert record.status is DeliveryStatus.PENDING
    assert record.next_attempt_at == FINISHED + 5_000
    assert record.completed_at is None
    assert record.attempt.outcome is AttemptOutcome.FAILURE


def test_an_error_has_no_response_and_is_retried() -> None:
    done = run(pending(), result(None, error="timeout"))
    assert isinstance(done.verdict, RetryAt)
    assert done.record.attempt.response is None
    assert done.record.attempt.error == "timeout"
    assert done.record.status_code is None


def test_a_status_the_policy_does_not_retry_fails_at_once_without_pausing() -> None:
    done = run(pending(retry_on=frozenset({500})), result(400))
    assert done.verdict == Failed(stop_webhook=None)
    assert done.record.status is DeliveryStatus.FAILED
    assert done.record.completed_at == FINISHED
    assert done.record.stop_webhook is None


@pytest.mark.parametrize(
    ("on_exhausted", "stop"), [("pause", StopReason.TOO_MANY_FAILURES), ("fail", None)]
)
def test_the_last_attempt_fails_and_pauses_as_the_policy_says(
    on_exhausted: str, stop: StopReason | None
) -> None:
    last = len(RetryPolicy().schedule)
    done = run(pending(attempt=last, on_exhausted=on_exhausted), result(500))
    assert done.verdict == Failed(stop_webhook=stop)
    assert done.record.stop_webhook is stop
    assert done.record.status is DeliveryStatus.FAILED


def test_a_test_ping_is_tried_once_and_pauses_nothing() -> None:
    last = len(RetryPolicy().schedule)
    assert run(pending(tags=["test"]), result(503)).verdict == Failed()
    assert run(pending(attempt=last, tags=["test"]), result(500)).verdict == Failed()
    assert run(pending(tags=["test"]), result(200)).verdict == Succeeded()
    assert run(pending(tags=["test"]), result(410)).verdict == Failed()


def test_410_gone_on_the_first_attempt_fails_and_disables() -> None:
    done = run(pending(attempt=1), result(410))
    assert done.verdict == Failed(stop_webhook=StopReason.ENDPOINT_GONE)
    assert done.record.stop_webhook is StopReason.ENDPOINT_GONE
    assert done.record.status is DeliveryStatus.FAILED


def test_the_request_record_takes_the_last_url_posted_to_and_redacts_credentials() -> None:
    done = run(pending(), result(200, final_url="https://receiver.example/moved"))
    request = done.record.attempt.request
    assert request["url"] == "https://receiver.example/moved"
    assert request["headers"]["Authorization"] == "[redacted]"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == '{"type":"job.done"}'


def test_verdict_of_maps_every_decision() -> None:
    assert verdict_of(Decision(kind="succeeded")) == Succeeded()
    assert verdict_of(Decision(kind="retry", retry_at_ms=7)) == RetryAt(7)
    gone = Decision(kind="failed", stop_webhook=StopReason.ENDPOINT_GONE)
    assert verdict_of(gone) == Failed(stop_webhook=StopReason.ENDPOINT_GONE)
    assert [v.kind for v in (Succeeded(), RetryAt(1), Failed())] == ["succeeded", "retry", "failed"]


def test_a_retry_that_would_start_after_the_event_expired_ends_expired() -> None:
    done = run(pending(expires_at=FINISHED + 4_999), result(503))
    assert done.verdict == Expired()
    record = done.record
    assert record.status is DeliveryStatus.EXPIRED
    assert record.completed_at == FINISHED
    assert record.next_attempt_at is None
    assert record.stop_webhook is None
    assert record.status_code == 503
    assert record.attempt.outcome is AttemptOutcome.FAILURE


def test_a_retry_within_the_ttl_is_scheduled() -> None:
    done = run(pending(expires_at=FINISHED + 5_000), result(503))
    assert done.verdict == RetryAt(FINISHED + 5_000)
