"""The disk under SQLite fills up (docs/deploy.md, "When the disk fills").

The real ``hookline serve`` (API and two dispatcher processes) keeps its database on a
small tmpfs of its own while a producer keeps posting events. When the filesystem is
full, events are refused with 503 ``storage_full``, a ``Retry-After`` and a message (never
a 500, never a dropped connection) and ``/readyz`` says 503; a small write that still
fits in SQLite's log file may be accepted meanwhile, as it is stored. A little space
given back is used and filled again; once the space is freed, the server is ready and
accepting within seconds, and every event it accepted, before, during or after, is
delivered and recorded within seconds too.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.polling import poll
from support.receiver import Endpoint, Receiver
from support.server import Api, Hookline
from support.storage import SmallDisk

from .fleet import unfinished
from .sender import Sender

pytestmark = [pytest.mark.slow]

RECOVERY = 10.0  # seconds to be ready, accepting and delivering again once space is back


def ready(base_url: str) -> int:
    return httpx.get(f"{base_url}/readyz", timeout=5.0).status_code


def assert_storage_full(response: httpx.Response) -> None:
    """503 with the API's error shape, code ``storage_full``, a message and a Retry-After."""
    assert response.status_code == 503, (response.status_code, response.text)
    body = response.json()
    assert body["ok"] is False, body
    assert body["error"]["code"] == "storage_full", body
    assert "disk" in body["error"]["message"], body
    assert response.headers["Retry-After"].isdigit(), response.headers


def refusal(api: Api, path: str, body: Any) -> httpx.Response:
    """POST until refused (an event that fits is accepted); the refusal."""
    answers: list[int] = []

    def post() -> httpx.Response:
        response = api.http.post(path, json=body)
        answers.append(response.status_code)
        return response

    found = poll(post, lambda r: r.status_code != 202, what=f"{path} refused")
    assert set(answers[:-1]) <= {202}, answers
    return found


def test_a_full_disk_refuses_writes_with_503_and_everything_accepted_is_delivered_once_freed(
    small_disk: SmallDisk, tmp_path: Path
) -> None:
    database = f"sqlite:///{small_disk.path / 'hookline.db'}"
    # The logs and keys stay on the ordinary disk: only the database runs out of space.
    server = Hookline(
        tmp_path / "data", env={"HOOKLINE_DATABASE_URL": database, "HOOKLINE_WORKERS": "2"}
    )
    with Receiver() as rcv:
        server.start()
        try:
            with server.api() as api:
                fill_and_free(server, api, small_disk, rcv.endpoint(delay=0.01))
        finally:
            code = server.terminate()
    output = server.output()
    assert code == 0, output[-4000:]
    assert "Exception in ASGI application" not in output
    assert "Traceback" not in output, output[-4000:]


def fill_and_free(server: Hookline, api: Api, disk: SmallDisk, endpoint: Endpoint) -> None:
    ws = api.workspace()
    api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0, 0.2, 0.5, 1, 1, 1]})
    sender = Sender(server.base_url, ws, type="disk.tick", pad=1000)
    sender.start()
    try:
        poll(
            endpoint.succeeded,
            lambda answered: len(answered) >= 50,
            timeout=15,
            what="deliveries under way",
        )

        disk.fill()
        refused = sender.refused_count()
        poll(sender.refused_count, lambda n: n > refused + 20, what="ingest refused")
        # SQLite may still fit a small write in its log file: a 503 comes, never anything else.
        write: dict[str, Any] = {"type": "disk.tick", "data": {"seq": -1}}
        assert_storage_full(refusal(api, f"/v1/workspaces/{ws}/events", write))
        batch = {"events": [write, {**write, "data": {"seq": -2}}]}
        assert_storage_full(refusal(api, f"/v1/workspaces/{ws}/events/batch", batch))
        poll(lambda: ready(server.base_url), lambda s: s == 503, what="/readyz 503")

        # A little space comes back while events keep coming: it is used, and the disk is
        # full again.
        disk.release(2 * 2**20)
        released = time.monotonic()
        poll(
            lambda: sender.accepted_since(released),
            lambda n: n > 0,
            timeout=RECOVERY,
            what="events accepted in the space given back",
        )
        poll(disk.free_bytes, lambda n: n < 2**20, what="the space used up again")

        disk.free()
        freed = time.monotonic()
        poll(
            lambda: ready(server.base_url),
            lambda s: s == 200,
            timeout=RECOVERY,
            what="/readyz 200 once space is back",
        )
        poll(
            lambda: sender.accepted_since(freed),
            lambda n: n >= 20,
            timeout=RECOVERY,
            what="events accepted once space is back",
        )
    finally:
        sender.stop()

    accepted = sender.ids()
    poll(
        endpoint.succeeded,
        lambda answered: answered >= accepted,
        timeout=RECOVERY,
        what="every accepted event delivered",
    )
    poll(
        lambda: unfinished(api, ws),
        lambda n: n == 0,
        timeout=RECOVERY,
        what="every delivery recorded",
    )
    assert set(sender.answers) <= {202, 503}, sender.answers
    assert sender.answers[503] > 0, sender.answers
