"""Starting and stopping the real process: the dev banner, SIGTERM draining, a crashed worker.

Each test runs its own server (and restarts it on the same data directory)
because it stops it.
"""

from __future__ import annotations

import re
import stat
import time
from pathlib import Path

import httpx
import pytest
from support.polling import poll
from support.receiver import Endpoint, Receiver
from support.server import Api, Hookline

pytestmark = pytest.mark.slow


def _deliver_one(server: Hookline, endpoint: Endpoint) -> str:
    """Register a webhook at ``endpoint``, send one event; returns the delivery id."""
    with server.api() as api:
        ws = api.workspace()
        api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0, 0.1]})
        event = api.send(ws, "job.finished", {"job": 1})
        (dlv,) = api.deliveries_of(event["id"])
    dlv_id: str = dlv["id"]
    return dlv_id


def test_dev_start_without_admin_key_prints_a_working_generated_key(
    tmp_path: Path, database_url: str | None
) -> None:
    data = tmp_path / "data"
    server = Hookline(data, admin_key=None, console_script=True, database_url=database_url).start()
    try:
        out = server.output()
        assert "DEV MODE" in out
        found = re.search(r"Admin key \(generated[^\n]*\n\s+(hk_\S+)", out)
        assert found, out
        key = found.group(1)
        docs = re.search(r"API docs:\s+(\S+)", out)
        assert docs, out
        assert docs.group(1) == f"{server.base_url}/docs"
        ui = re.search(r"UI:\s+(\S+)", out)
        assert ui, out
        assert ui.group(1) == f"{server.base_url}/ui"

        assert httpx.get(docs.group(1)).status_code == 200
        with Api(server.base_url, key) as api:
            api.get("/v1/workspaces")
        with Api(server.base_url, key + "x") as wrong:
            assert wrong.get("/v1/workspaces", status=401)["code"]
        mode = (data / "admin.key").stat().st_mode
        assert stat.S_IMODE(mode) & 0o077 == 0, oct(mode)
    finally:
        assert server.terminate() == 0, server.output()

    # Shown once: a second start keeps the key and does not print it again.
    again = Hookline(data, admin_key=None, console_script=True, database_url=database_url).start()
    try:
        assert key not in again.output()
        with Api(again.base_url, key) as api:
            api.get("/v1/workspaces")
    finally:
        assert again.terminate() == 0, again.output()


def test_sigterm_lets_the_attempt_in_flight_finish_and_records_it(
    tmp_path: Path, receiver: Receiver, database_url: str | None
) -> None:
    endpoint = receiver.endpoint(delay=1.0)
    data = tmp_path / "data"
    server = Hookline(data, env={"HOOKLINE_SHUTDOWN_GRACE": "5"}, database_url=database_url).start()
    try:
        dlv_id = _deliver_one(server, endpoint)
        endpoint.wait(1)  # the receiver holds the request for a second
        stopping = time.monotonic()
        code = server.terminate(timeout=10)
        took = time.monotonic() - stopping
    finally:
        server.stop()
    assert code == 0, server.output()
    assert 0.5 <= took < 5, f"stopping took {took:.2f} s"

    restarted = Hookline(data, database_url=database_url).start()
    try:
        with restarted.api() as api:
            dlv = api.delivery(dlv_id)
        assert dlv["status"] == "succeeded", dlv
        (attempt,) = dlv["attempts"]
        assert attempt["response"]["status"] == 200
        assert attempt["durationMs"] >= 900
        assert len(endpoint.requests) == 1
    finally:
        assert restarted.terminate() == 0, restarted.output()


def test_sigterm_past_the_grace_releases_the_attempt_and_a_restart_sends_it(
    tmp_path: Path, receiver: Receiver, database_url: str | None
) -> None:
    endpoint = receiver.endpoint(delay=3.0)
    data = tmp_path / "data"
    server = Hookline(data, env={"HOOKLINE_SHUTDOWN_GRACE": "1"}, database_url=database_url).start()
    try:
        dlv_id = _deliver_one(server, endpoint)
        endpoint.wait(1)
        stopping = time.monotonic()
        code = server.terminate(timeout=10)
        took = time.monotonic() - stopping
    finally:
        server.stop()
    assert code == 0, server.output()
    assert took < 2.9, f"stopping took {took:.2f} s, more than the 1 s grace"

    endpoint.hold(0)
    restarted = Hookline(data, database_url=database_url).start()
    try:
        with restarted.api() as api:
            dlv = api.settled(dlv_id)
        assert dlv["status"] == "succeeded", dlv
        assert [a["outcome"] for a in dlv["attempts"]] == ["success"]
        first, second = endpoint.wait(2)
        assert first.headers["X-Hookline-Delivery"] == second.headers["X-Hookline-Delivery"]
    finally:
        assert restarted.terminate() == 0, restarted.output()


def test_a_killed_worker_loses_nothing_its_lease_expires_and_the_delivery_is_retaken(
    tmp_path: Path, receiver: Receiver, database_url: str | None
) -> None:
    endpoint = receiver.endpoint(delay=3.0)
    data = tmp_path / "data"
    fast_lease = {"HOOKLINE_LEASE_SECONDS": "1"}
    server = Hookline(data, env=fast_lease, database_url=database_url).start()
    try:
        dlv_id = _deliver_one(server, endpoint)
        endpoint.wait(1)
        assert server.proc is not None
        server.proc.kill()
        server.proc.wait(timeout=10)
    finally:
        server.stop()

    endpoint.hold(0)
    restarted = Hookline(data, env=fast_lease, database_url=database_url).start()
    try:
        with restarted.api() as api:
            dlv = poll(
                lambda: api.delivery(dlv_id),
                lambda d: d["status"] == "succeeded",
                what="the killed worker's delivery delivered",
            )
        assert len(dlv["attempts"]) == 1
        assert len(endpoint.wait(2)) == 2
    finally:
        assert restarted.terminate() == 0, restarted.output()
