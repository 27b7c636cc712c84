"""Order and pace of deliveries (CONTRACT §3 status, §6 ordering, rateLimit and isolation).

A paused webhook keeps every event and sends them oldest first on resume; a FIFO
webhook's failing head holds the ones behind it; a rate limit spaces attempts; a
hanging endpoint does not slow the healthy ones.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from support.answers import HANG_LIMIT
from support.polling import poll
from support.receiver import HANG, Received, Receiver
from support.server import Api, Hookline

from hookline.domain.retry import MAX_TIMEOUT
from hookline.domain.scheduling import FIRST_WINDOW

pytestmark = pytest.mark.slow


def send_batch(api: Api, ws: str, type: str, count: int, **data: Any) -> list[str]:
    """Send ``count`` events in one batch request; their ids, in order."""
    events = [{"type": type, "data": {"seq": n, **data}} for n in range(count)]
    results = api.post(f"/v1/workspaces/{ws}/events/batch", {"events": events})
    assert [r["status"] for r in results] == [202] * count, results
    return [r["data"]["id"] for r in results]


def seqs(got: list[Received]) -> list[int]:
    return [json.loads(r.body)["data"]["seq"] for r in got]


def test_a_paused_webhook_keeps_every_event_and_sends_them_oldest_first_on_resume(
    api: Api, ws: str, receiver: Receiver
) -> None:
    endpoint = receiver.endpoint()
    wh = api.webhook(ws, endpoint.url, ordering="fifo")
    loose_ep = receiver.endpoint()
    loose = api.webhook(ws, loose_ep.url)
    for hook in (wh, loose):
        api.patch(f"/v1/webhooks/{hook['id']}", {"status": "paused"})

    # One by one, then a burst in one request (many in the same millisecond).
    singles = [api.send(ws, "ticket.updated", {"seq": n})["id"] for n in range(10)]
    burst = send_batch(api, ws, "ticket.updated", 30)
    sent = singles + burst
    held = api.get(f"/v1/webhooks/{wh['id']}/deliveries?status=held&limit=250")
    assert len(held) == 40
    time.sleep(0.3)  # measuring that nothing goes out while paused, not synchronizing
    assert endpoint.requests == [] and loose_ep.requests == []

    for hook in (wh, loose):
        api.patch(f"/v1/webhooks/{hook['id']}", {"status": "active"})

    got = endpoint.wait(40)
    assert [r.headers["X-Hookline-Delivery"] for r in got] == sent  # FIFO: exactly in order
    loose_got = loose_ep.wait(40)
    assert sorted(r.headers["X-Hookline-Delivery"] for r in loose_got) == sorted(sent)
    # Without FIFO, up to HOOKLINE_ENDPOINT_CONCURRENCY (16) attempts per dispatcher process
    # (one per core by default) run at once and may overtake each other on the wire; they
    # still go out oldest first, so none moves far.
    in_flight = 16 * (os.cpu_count() or 1)
    order = [sent.index(r.headers["X-Hookline-Delivery"]) for r in loose_got]
    assert all(abs(position - n) < in_flight for position, n in enumerate(order)), order
    poll(
        lambda: api.get(f"/v1/webhooks/{loose['id']}/deliveries?status=succeeded&limit=250"),
        lambda page: len(page) == 40,
        what="every held delivery succeeded",
    )
    assert len(endpoint.requests) == len(loose_ep.requests) == 40  # once each, none twice


def test_fifo_a_failing_head_holds_the_rest_until_it_succeeds(
    api: Api, ws: str, receiver: Receiver
) -> None:
    endpoint = receiver.endpoint([500, 503], default=200, delay=0.02)
    schedule = [0, 0.2, 0.2, 0.2]
    wh = api.webhook(ws, endpoint.url, ordering="fifo", retryPolicy={"schedule": schedule})

    sent = send_batch(api, ws, "ledger.entry", 12)
    got = endpoint.wait(14)
    poll(
        lambda: api.get(f"/v1/webhooks/{wh['id']}/deliveries?status=succeeded"),
        lambda page: len(page) == 12,
        what="12 FIFO deliveries succeeded",
    )

    ids = [r.headers["X-Hookline-Delivery"] for r in got]
    assert ids[:3] == [sent[0]] * 3, "the head was not retried before the others went out"
    assert [r.headers["X-Hookline-Attempt"] for r in got[:3]] == ["1", "2", "3"]
    assert ids[3:] == sent[1:]
    assert seqs(got)[2:] == list(range(12))
    # One in flight at a time: each request arrives after the one before was answered.
    assert all(b.at - a.at >= 0.02 for a, b in itertools.pairwise(got))
    assert len(endpoint.requests) == 14


def test_fifo_an_exhausted_head_lets_the_next_one_go(api: Api, ws: str, receiver: Receiver) -> None:
    endpoint = receiver.endpoint([500, 500], default=200)
    wh = api.webhook(ws, endpoint.url, ordering="fifo", retryPolicy={"schedule": [0, 0.1]})

    sent = send_batch(api, ws, "ledger.entry", 3)
    got = endpoint.wait(4)

    assert [r.headers["X-Hookline-Delivery"] for r in got] == [sent[0], sent[0], *sent[1:]]
    failed = api.get(f"/v1/webhooks/{wh['id']}/deliveries?status=failed")
    assert [d["eventId"] for d in failed] == [sent[0]]


def test_a_rate_limit_of_ten_spreads_fifty_events_over_five_seconds(
    api: Api, ws: str, receiver: Receiver
) -> None:
    # Elsewhere a FIFO webhook has a follower due behind a slow head. That delivery is due but
    # blocked; it must not hide the rate limit's next slot from the dispatcher (which then
    # waited a whole poll interval per slot: 50 slots took over 12 s).
    slow = receiver.endpoint(delay=5.5)
    fifo = api.webhook(
        ws, slow.url, events=["ledger.*"], ordering="fifo", retryPolicy={"timeout": 6}
    )
    send_batch(api, ws, "ledger.entry", 2)
    slow.wait(1)
    endpoint = receiver.endpoint()
    api.webhook(ws, endpoint.url, events=["metric.*"], rateLimit=10)

    sent = send_batch(api, ws, "metric.sample", 50)
    got = endpoint.wait(50, timeout=15)
    api.patch(f"/v1/webhooks/{fifo['id']}", {"status": "disabled"})

    took = got[-1].at - got[0].at
    assert took >= 4.5, f"50 attempts at 10/s arrived in {took:.2f} s"
    # Generous for a shared machine, still far below the 12 s of a stalled limiter.
    assert took < 9, f"50 attempts at 10/s took {took:.2f} s"
    # No second holds more than the limit (one more for how late an attempt may go out).
    times = [r.at for r in got]
    busiest = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert busiest <= 11, busiest
    assert sorted(r.headers["X-Hookline-Delivery"] for r in got) == sorted(sent)


def test_a_hanging_endpoint_does_not_slow_the_healthy_ones(
    tmp_path: Path, receiver: Receiver, database_url: str | None
) -> None:
    """Counted, not timed: every healthy delivery arrives while the hanging endpoint's first
    attempts are still held open, so none of them waited for a slot the hanging one had.
    The hanging requests outlast any load this machine may be under (HANG_LIMIT, with an
    attempt timeout longer still); the healthy ones need only free slots."""
    env = {
        "HOOKLINE_ENDPOINT_CONCURRENCY": "4",
        "HOOKLINE_WORKER_CONCURRENCY": "32",
        "HOOKLINE_SHUTDOWN_GRACE": "0.5",
        "HOOKLINE_WORKERS": "1",  # the caps are per dispatcher process
    }
    server = Hookline(tmp_path / "data", env=env, database_url=database_url).start()
    try:
        with server.api() as api:
            ws = api.workspace()
            hanging = receiver.endpoint(default=HANG)
            hung = api.webhook(
                ws,
                hanging.url,
                events=["stuck.*"],
                retryPolicy={"schedule": [0, 0.1], "timeout": MAX_TIMEOUT},
            )
            healthy = [receiver.endpoint() for _ in range(5)]
            for endpoint in healthy:
                api.webhook(ws, endpoint.url, events=["fine.*"])

            # The hanging endpoint's backlog is older: it is first in the queue.
            send_batch(api, ws, "stuck.job", 100)
            hanging.wait(FIRST_WINDOW)
            started = time.monotonic()
            send_batch(api, ws, "fine.job", 200)
            for endpoint in healthy:
                endpoint.wait(200, timeout=HANG_LIMIT - 5)
            took = time.monotonic() - started
            print(f"\n1000 healthy deliveries in {took:.2f} s beside a hanging endpoint")

            # The hanging endpoint got its first window of slots (below its cap of 4: none of
            # its attempts has ended), and not one of its attempts has ended.
            assert len(hanging.requests) == FIRST_WINDOW
            assert all(r.answered is None for r in hanging.requests)
            dlv = api.get(f"/v1/webhooks/{hung['id']}/deliveries?status=sending")
            assert len(dlv) == FIRST_WINDOW
            assert all(len(endpoint.requests) == 200 for endpoint in healthy)  # once each
            api.patch(f"/v1/webhooks/{hung['id']}", {"status": "disabled"})
    finally:
        assert server.terminate() == 0, server.output()
