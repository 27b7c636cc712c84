"""PostgreSQL restarts under load (docs/deploy.md: "API and workers reconnect by themselves").

On a cluster of its own, the test keeps sending events one by one while the
server is stopped and started again. Every process says it is unready while the
database is gone and ready within 10 s of its return, events are accepted again,
and every event that got a 202, before, during or after, is delivered.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from support.polling import poll
from support.postgres import create_database
from support.receiver import Receiver

from .cluster import Cluster
from .fleet import Fleet, settle, wait_ready
from .sender import Sender

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

RECOVERY = 10.0  # seconds the processes get to be ready again once PostgreSQL is back
OUTAGE = 2.0  # seconds PostgreSQL stays down, at least


# fast: the server ends every session and shuts down cleanly; immediate: it dies as in a
# crash and replays its WAL on the next start.
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_api_and_workers_ride_out_a_postgresql_restart_and_lose_nothing_accepted(
    cluster: Cluster, start_fleet: Callable[..., Fleet], mode: str
) -> None:
    database = create_database(cluster.url)
    # Each request is held 0.1 s: attempts are in flight when the database goes away.
    with Receiver() as rcv:
        endpoint = rcv.endpoint(path="/restart", delay=0.1)
        fleet = start_fleet(
            database, workers=2, worker_http=True, env={"HOOKLINE_LEASE_SECONDS": "5"}
        )
        everyone = [s.base_url for s in fleet.servers]
        api = fleet.api
        ws = api.workspace()
        api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0, 0.2, 0.5, 1, 1, 1]})
        sender = Sender(fleet.api_server.base_url, ws)
        sender.start()
        try:
            poll(rcv.count, lambda n: n >= 50, timeout=15, what="deliveries under way")

            cluster.stop(mode)
            down = time.monotonic()
            wait_ready(everyone, want=False, timeout=10)
            refused = sender.refused
            # The outage lasts OUTAGE seconds at least, with events refused meanwhile.
            poll(
                lambda: (sender.refused, time.monotonic() - down),
                lambda seen: seen[0] > refused + 5 and seen[1] >= OUTAGE,
                what="events refused during the outage",
            )

            cluster.start()
            back = time.monotonic()
            ready_after = wait_ready(everyone, want=True, timeout=RECOVERY)
            poll(
                lambda: sender.accepted_since(back),
                lambda n: n > 0,
                timeout=RECOVERY,
                what="an event accepted after the restart",
            )
            accepting_after = time.monotonic() - back
            # New work reaches the workers: an event accepted now is delivered.
            first_after = min(at for at, _ in sender.accepted if at >= back)
            new_ids = {i for at, i in sender.accepted if at >= back}
            poll(
                endpoint.succeeded,
                lambda answered: bool(answered & new_ids),
                timeout=RECOVERY,
                what="an event accepted after the restart delivered",
            )
            delivering_after = time.monotonic() - back
            assert first_after - back < RECOVERY
            poll(lambda: sender.accepted_since(back), lambda n: n >= 50, what="50 more accepted")
        finally:
            sender.stop()

        accepted = sender.ids()
        poll(
            endpoint.succeeded,
            lambda answered: answered >= accepted,
            timeout=30,
            what="every accepted event delivered",
        )
        settle(fleet, ws, timeout=10)
        codes = fleet.close()
        assert set(codes.values()) == {0}, (codes, fleet.logs())
        repeated = sum(n - 1 for n in endpoint.deliveries().values())
    print(
        f"\n{len(accepted)} events accepted, {sender.refused} refused while PostgreSQL was down, "
        f"all delivered ({repeated} sent twice); after the restart: /readyz 200 in "
        f"{ready_after:.2f} s, accepting in {accepting_after:.2f} s, "
        f"delivering in {delivering_after:.2f} s"
    )
