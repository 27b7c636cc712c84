"""``hookline tail``'s bookkeeping: which deliveries it prints again and how far back it polls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hookline.cli.api import out
from hookline.cli.tail import _Follower, _print_delivery
from hookline.client import Delivery

T0 = datetime(2026, 3, 18, 10, 0, tzinfo=UTC)


def delivery(
    n: int, status: str, attempts: int = 0, minute: int = 0, error: str | None = None
) -> Delivery:
    return Delivery(
        id=f"dlv_{n}",
        event_id=f"evt_{n}",
        event_type="order.paid",
        webhook_id="wh_1",
        workspace_id="ws_1",
        status=status,  # type: ignore[arg-type]
        attempt_count=attempts,
        next_attempt_at=None,
        last_status_code=None,
        last_error=error,
        created_at=T0 + timedelta(minutes=minute),
        completed_at=None,
        resent_from=None,
        tags=[],
    )


def ids(found: list[Delivery]) -> list[tuple[str, str]]:
    return [(d.id, d.status) for d in found]


def test_each_delivery_is_printed_new_and_again_when_it_changes() -> None:
    follower = _Follower(T0)
    now = T0 + timedelta(minutes=1)
    first = follower.changes([delivery(2, "pending", minute=1), delivery(1, "sending")], now)
    assert ids(first) == [("dlv_1", "sending"), ("dlv_2", "pending")]
    assert follower.since == T0  # dlv_1 is still in flight
    again = [delivery(2, "pending", minute=1), delivery(1, "succeeded", 1)]
    assert ids(follower.changes(again, now)) == [("dlv_1", "succeeded")]
    assert follower.since == T0 + timedelta(minutes=1)
    assert follower.changes(again, now) == []


def test_a_delivery_in_flight_too_long_no_longer_holds_the_polls_back() -> None:
    follower = _Follower(T0, follow_for=timedelta(minutes=15))
    follower.changes([delivery(1, "pending"), delivery(2, "succeeded", 1, minute=5)], T0)
    assert follower.since == T0
    later = T0 + timedelta(minutes=16)
    follower.changes([delivery(1, "pending"), delivery(2, "succeeded", 1, minute=5)], later)
    assert follower.since == T0 + timedelta(minutes=5)
    assert set(follower.shown) == {"dlv_1", "dlv_2"}
    follower.changes([delivery(2, "succeeded", 1, minute=5)], later)
    assert set(follower.shown) == {"dlv_2"}  # what the polls no longer return is forgotten


def test_a_line_shows_the_last_error_as_it_is() -> None:
    with out.capture() as captured:
        _print_delivery(delivery(1, "failed", 3, error="timeout after 10 s [/]"), as_json=False)
    line = captured.get()
    assert "failed" in line and "order.paid" in line and "evt_1" in line and "wh_1" in line
    assert "[timeout after 10 s [/]] x3" in line


def test_a_stuck_delivery_says_so_before_its_fault() -> None:
    stuck = delivery(1, "pending", error="internal_error: prepare: RuntimeError")
    with out.capture() as captured:
        _print_delivery(stuck.model_copy(update={"stuck": True}), as_json=False)
    assert "[stuck: internal_error: prepare: RuntimeError] x0" in captured.get()
