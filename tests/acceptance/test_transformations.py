"""Webhook transformations against a running server and real receivers, on both stores: the
recipes of docs/transformations.md as written, each delivery verified against the transformed
bytes; an endless loop, a 1 GB allocation and a thrown error each end their attempt with
``transformation_error`` within the limit while the other deliveries keep flowing; and, in
production mode, a transformation cannot send to a loopback or metadata address."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.polling import poll
from support.receiver import Receiver
from support.server import Api, Hookline

from hookline.verify import verify_standard

pytestmark = pytest.mark.slow

DOC = Path(__file__).parents[2] / "docs" / "transformations.md"
BLOCK = re.compile(r"^### (?P<title>.+?)\n.*?^```js\n(?P<code>.*?)^```", re.M | re.S)
RECIPES = {m["title"]: m["code"] for m in BLOCK.finditer(DOC.read_text())}
ENDED = ("succeeded", "failed", "expired", "cancelled")


def ended(api: Api, dlv_id: str, timeout: float = 15) -> dict[str, Any]:
    return poll(
        lambda: api.delivery(dlv_id),
        lambda d: d["status"] in ENDED,
        timeout=timeout,
        what=f"{dlv_id} ended",
    )


def only_delivery(api: Api, event_id: str) -> dict[str, Any]:
    (dlv,) = api.deliveries_of(event_id)
    return dlv


def transformed(api: Api, ws: str, url: str, title: str, **fields: Any) -> dict[str, Any]:
    return api.webhook(ws, url, transformation={"code": RECIPES[title]}, **fields)


def verified(api: Api, wh_id: str, got: Any) -> None:
    secret = api.get(f"/v1/webhooks/{wh_id}/secret")["secret"]
    verify_standard(secret, dict(got.headers), got.body)


def test_the_slack_recipe_sends_a_slack_message_signed_as_sent(
    api: Api, ws: str, receiver: Receiver
) -> None:
    endpoint = receiver.endpoint()
    hook = transformed(api, ws, endpoint.url, "Slack message")
    event = api.send(ws, "order.paid", {"order": "o_9", "amount": 4200})
    (got,) = endpoint.wait(1)
    assert json.loads(got.body) == {"text": "order.paid: order o_9 paid, 42 EUR"}
    verified(api, hook["id"], got)
    dlv = ended(api, only_delivery(api, event["id"])["id"])
    assert dlv["status"] == "succeeded"
    assert dlv["attempts"][0]["request"]["body"] == got.body.decode()


def test_the_rename_recipe_renames_the_field(api: Api, ws: str, receiver: Receiver) -> None:
    endpoint = receiver.endpoint()
    hook = transformed(api, ws, endpoint.url, "Field rename")
    api.send(ws, "order.paid", {"customer_id": "c_3", "amount": 1})
    (got,) = endpoint.wait(1)
    assert json.loads(got.body)["data"] == {"amount": 1, "customerId": "c_3"}
    verified(api, hook["id"], got)


def test_the_cancel_recipe_cancels_the_small_orders(api: Api, ws: str, receiver: Receiver) -> None:
    endpoint = receiver.endpoint()
    hook = transformed(api, ws, endpoint.url, "Cancel by value")
    small = api.send(ws, "order.paid", {"amount": 500})
    large = api.send(ws, "order.paid", {"amount": 25_000})
    (got,) = endpoint.wait(1)
    assert json.loads(got.body)["id"] == large["id"]
    verified(api, hook["id"], got)
    dlv = ended(api, only_delivery(api, small["id"])["id"])
    assert (dlv["status"], dlv["lastError"]) == ("cancelled", None)
    assert dlv["attempts"][0]["request"]["cancelled"] is True
    listed = api.get(f"/v1/webhooks/{hook['id']}/deliveries", params={"status": "cancelled"})
    assert [d["id"] for d in listed] == [dlv["id"]]
    assert len(endpoint.requests) == 1


FAILING = {
    "loop": "function handler(w) { while (true) {} }",
    "1 GB": "function handler(w) { w.payload = new Array(2 ** 27).fill(1.5); return w; }",
    "throw": "function handler(w) { throw new Error('no such field'); }",
}


def test_a_loop_a_huge_allocation_and_a_throw_fail_the_attempt_within_the_limit(
    api: Api, ws: str, receiver: Receiver
) -> None:
    """Each failing transformation's attempt ends within the time limit (100 ms) and a margin
    for a loaded machine; the plain webhook's deliveries go on meanwhile."""
    plain = receiver.endpoint()
    api.webhook(ws, plain.url, events=["job.done"])
    bad = {
        name: api.webhook(
            ws,
            receiver.endpoint().url,
            events=["job.bad"],
            transformation={"code": code},
            retryPolicy={"schedule": [0, 0.1], "jitter": 0},
        )["id"]
        for name, code in FAILING.items()
    }
    started = time.monotonic()
    failing = [api.send(ws, "job.bad", {"n": n})["id"] for n in range(3)]
    for n in range(20):
        api.send(ws, "job.done", {"n": n})
    plain.wait(20, timeout=20)
    flowing = time.monotonic() - started
    assert flowing < 10, f"the plain webhook's 20 deliveries took {flowing:.1f} s"
    durations: dict[str, list[float]] = {name: [] for name in bad}
    for event in failing:
        for dlv in api.deliveries_of(event):
            name = next(n for n, wh_id in bad.items() if wh_id == dlv["webhookId"])
            dlv = ended(api, dlv["id"], timeout=30)
            assert (dlv["status"], dlv["lastError"]) == ("failed", "transformation_error"), name
            for attempt in dlv["attempts"]:
                assert (attempt["error"], attempt["response"]) == ("transformation_error", None)
                durations[name].append(attempt["durationMs"])
            message = dlv["attempts"][0]["request"]["transformationError"]
            assert ("no such field" if name == "throw" else "limit") in message, (name, message)
    print(f"plain deliveries: 20 in {flowing:.2f} s; attempt ms:", durations)
    assert all(ms < 1000 for runs in durations.values() for ms in runs), durations


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A production-mode server: no private network is open; http:// allowed."""
    data = tmp_path_factory.mktemp("guarded-transformations")
    env = {"HOOKLINE_ALLOW_HTTP": "true"}
    with Hookline(data, dev=False, env=env).running() as server, server.api() as api:
        yield api


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://user:pass@example.com/",
        "ftp://example.com/",
    ],
)
def test_a_transformation_cannot_send_to_a_blocked_address(guarded: Api, url: str) -> None:
    ws = guarded.workspace()
    code = f"function handler(w) {{ w.url = {json.dumps(url)}; return w; }}"
    guarded.webhook(
        ws,
        "https://example.com/hook",
        transformation={"code": code},
        retryPolicy={"schedule": [0]},
    )
    event = guarded.send(ws, "job.done", {})
    dlv = ended(guarded, only_delivery(guarded, event["id"])["id"])
    assert (dlv["status"], dlv["lastError"]) == ("failed", "transformation_error")
    assert dlv["attempts"][0]["request"]["transformationError"]
