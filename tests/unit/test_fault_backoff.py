"""The wait after a fault of Hookline's own: doubling from the first, capped, jittered down."""

from __future__ import annotations

from hookline.dispatch.faults import fault_backoff_ms


def test_the_backoff_after_faults_doubles_up_to_ten_minutes() -> None:
    for faults in range(12):
        expected = min(600_000, 5_000 * 2**faults)
        for _ in range(20):
            wait = fault_backoff_ms(faults, 5)
            assert 0.9 * expected <= wait <= expected, (faults, wait)
    assert 540_000 <= fault_backoff_ms(10_000, 5) <= 600_000
