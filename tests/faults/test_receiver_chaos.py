"""A receiver that fails half the attempts in every way it can (CONTRACT §6): all delivered anyway.

30 % of attempts get a 5xx, 10 % hang until the 1 s timeout, 10 % have their
connection reset without an answer. Which attempt fails is drawn per (delivery,
attempt) from a seeded generator, and the schedule's last attempt is always
answered, so every delivery must succeed within its schedule; the attempt log
must say what happened to each attempt.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Callable

import pytest
from support.polling import poll
from support.receiver import Received, Receiver

from .chaos import Chaos
from .fleet import Fleet, send_events, settle

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

EVENTS = 200
SCHEDULE = [0, 0.2, 0.2, 0.5, 0.5, 1, 1, 2]
TIMEOUT = 1.0
JITTER = 0.2  # the default: each delay is stretched or shrunk by up to 20 %
# What the attempt log records for each kind of failure.
ERRORS = {"hang": {"timeout"}, "reset": {"connection_closed", "network_error"}}


def test_every_delivery_succeeds_within_its_schedule_despite_a_chaotic_receiver(
    start_fleet: Callable[..., Fleet], database: str
) -> None:
    chaos = Chaos(error=0.3, hang=0.1, reset=0.1, last_attempt=len(SCHEDULE), seed=7)
    with Receiver() as rcv:
        endpoint = rcv.endpoint(path="/chaos", respond=chaos)
        fleet = start_fleet(database, workers=2)
        api = fleet.api
        ws = api.workspace()
        wh = api.webhook(ws, endpoint.url, retryPolicy={"schedule": SCHEDULE, "timeout": TIMEOUT})
        started = time.monotonic()
        sent = send_events(api, ws, "chaos.tick", EVENTS, prefix="evt")
        # The longest any delivery may take: every delay at its longest, and a timeout for
        # every attempt but the last; plus time to claim and send.
        budget = sum(SCHEDULE) * (1 + JITTER) + (len(SCHEDULE) - 1) * TIMEOUT + 5
        poll(
            endpoint.succeeded,
            lambda answered: answered >= set(sent),
            timeout=budget,
            what="every event answered 200",
        )
        took = time.monotonic() - started
        settle(fleet, ws, timeout=10)

        done = api.get(f"/v1/webhooks/{wh['id']}/deliveries?status=succeeded&limit=250")
        assert sorted(d["eventId"] for d in done) == sorted(sent)
        by_event: dict[str, list[Received]] = defaultdict(list)
        for r in rcv.requests:
            by_event[r.delivery].append(r)
        kinds = {kind: sum(r.behaviour == kind for r in rcv.requests) for kind in ERRORS}
        kinds["error"] = sum(r.behaviour == "error" for r in rcv.requests)
        assert all(kinds.values()), kinds  # every kind of failure happened

        for event_id, got in by_event.items():
            # Attempts come one after the other, numbered; the first 200 ends them.
            assert [r.attempt for r in got] == list(range(1, len(got) + 1)), event_id
            assert [r.behaviour == "ok" for r in got] == [False] * (len(got) - 1) + [True]
            # None waited longer than its schedule (plus the timeouts it suffered and 1 s).
            for earlier, later in itertools.pairwise(got):
                delay = SCHEDULE[later.attempt - 1] * (1 + JITTER)
                waited = TIMEOUT if earlier.behaviour == "hang" else 0.0
                gap = later.at - earlier.at
                assert gap <= delay + waited + 1.0, (event_id, later.attempt, gap)

        # The attempt log says what the receiver did, attempt by attempt.
        for dlv in done:
            got = by_event[dlv["eventId"]]
            if all(r.behaviour == "ok" for r in got):
                continue
            attempts = api.get(f"/v1/deliveries/{dlv['id']}")["attempts"]
            assert len(attempts) == len(got), dlv["id"]
            for attempt, r in zip(attempts, got, strict=True):
                if r.behaviour in ERRORS:
                    assert attempt["error"] in ERRORS[r.behaviour], (attempt, r.behaviour)
                else:
                    status = 200 if r.behaviour == "ok" else attempt["response"]["status"]
                    assert attempt["response"]["status"] == status
                    assert (status >= 500) == (r.behaviour == "error")
        codes = fleet.close()
        assert set(codes.values()) == {0}, (codes, fleet.logs())
    attempts = sum(len(got) for got in by_event.values())
    print(f"\n{EVENTS} deliveries in {took:.2f} s, {attempts} attempts; failures: {kinds}")
