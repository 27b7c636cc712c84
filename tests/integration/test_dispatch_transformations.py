"""The dispatcher and webhook transformations, in-process on SQLite against receivers on
127.0.0.1: the transformed request is what is sent, signed and recorded; ``cancel: true`` ends
the delivery ``cancelled`` unsent; a failing transformation fails the attempt with
``transformation_error`` and its message (retried by the policy); a sandbox that cannot start
is a fault of Hookline's own, which ends no delivery."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest
from support.polling import eventually
from support.receiver import Receiver
from test_dispatcher import Rig, rigs  # noqa: F401 (fixture)

from hookline.sandbox import pool
from hookline.service.access import ADMIN
from hookline.verify import verify_standard

RESHAPE = """
function handler(webhook) {
  webhook.payload = {kind: webhook.eventType, n: webhook.payload.data.n};
  webhook.url = webhook.url + "?via=transformation";
  webhook.headers["X-Team"] = "blue";
  return webhook;
}
"""


async def test_the_transformed_request_is_sent_signed_and_recorded(
    rigs: Callable[..., Awaitable[Rig]],  # noqa: F811
    receiver: Receiver,
) -> None:
    rig = await rigs()
    ws = await rig.workspace()
    endpoint = receiver.endpoint()
    wh_id = await rig.webhook(ws, endpoint.url, transformation={"code": RESHAPE})
    await rig.send(ws, 1)
    rig.start()
    (got,) = await endpoint.arrived(1)
    await rig.settled(ws, 1)
    await rig.stop()

    assert got.body == b'{"kind":"job.done","n":0}'
    assert got.url.endswith("?via=transformation")
    assert got.header("X-Team") == "blue"
    secret, _public = await rig.svc.webhooks.secret(ADMIN, wh_id)
    verify_standard(secret, dict(got.headers), got.body)
    (dlv,) = await rig.deliveries(ws)
    (attempt,) = await rig.store.list_attempts(dlv.id)
    assert attempt.request["body"] == got.body.decode()
    assert attempt.request["url"] == got.url
    assert attempt.request["headers"]["X-Team"] == "blue"


async def test_a_disabled_transformation_does_not_run(
    rigs: Callable[..., Awaitable[Rig]],  # noqa: F811
    receiver: Receiver,
) -> None:
    rig = await rigs()
    ws = await rig.workspace()
    endpoint = receiver.endpoint()
    await rig.webhook(ws, endpoint.url, transformation={"code": RESHAPE, "enabled": False})
    await rig.send(ws, 1)
    rig.start()
    (got,) = await endpoint.arrived(1)
    await rig.stop()
    assert json.loads(got.body)["data"] == {"n": 0}


async def test_cancel_ends_the_delivery_cancelled_unsent(
    rigs: Callable[..., Awaitable[Rig]],  # noqa: F811
    receiver: Receiver,
) -> None:
    rig = await rigs()
    ws = await rig.workspace()
    endpoint = receiver.endpoint()
    code = "function handler(w) { w.cancel = w.payload.data.n === 0; return w; }"
    await rig.webhook(ws, endpoint.url, transformation={"code": code})
    await rig.send(ws, 2)
    rig.start()
    await endpoint.arrived(1)
    ended = await eventually(
        lambda: rig.deliveries(ws, "cancelled"), lambda found: len(found) == 1, what="cancelled"
    )
    await rig.settled(ws, 1)
    await rig.stop()

    assert [json.loads(r.body)["data"] for r in endpoint.requests] == [{"n": 1}]
    (attempt,) = await rig.store.list_attempts(ended[0].id)
    assert attempt.request["cancelled"] is True
    assert (attempt.error, attempt.response) == (None, None)
    registry = rig.ctx.metrics.registry
    assert registry.get_sample_value("hookline_deliveries_total", {"outcome": "cancelled"}) == 1


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("function handler(w) { throw new Error('no way'); }", "Error: no way"),
        ("function handler(w) { while (true) {} }", "time limit"),
        ("function handler(w) { w.url = 'ftp://example.com/'; return w; }", "https"),
        ("function handler(w) { w.headers['webhook-id'] = 'x'; return w; }", "reserved"),
        ("function handler(w) { return 42; }", "must return the webhook object"),
        ("let handler = 3;", "defines no function handler"),
    ],
)
async def test_a_failing_transformation_fails_the_attempt_and_is_retried(
    rigs: Callable[..., Awaitable[Rig]],  # noqa: F811
    receiver: Receiver,
    code: str,
    message: str,
) -> None:
    rig = await rigs()
    ws = await rig.workspace()
    endpoint = receiver.endpoint()
    await rig.webhook(
        ws, endpoint.url, transformation={"code": code}, retryPolicy={"schedule": [0, 0.05]}
    )
    await rig.send(ws, 1)
    rig.start()
    (dlv,) = await eventually(
        lambda: rig.deliveries(ws, "failed"), lambda found: len(found) == 1, what="failed"
    )
    await rig.stop()

    assert (dlv.attempt_count, dlv.last_error) == (2, "transformation_error")
    attempts = await rig.store.list_attempts(dlv.id)
    assert [a.error for a in attempts] == ["transformation_error"] * 2
    assert message in attempts[0].request["transformationError"]
    assert endpoint.requests == []


async def test_a_sandbox_that_cannot_start_ends_no_delivery(
    rigs: Callable[..., Awaitable[Rig]],  # noqa: F811
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = await rigs(fault_retry_seconds=0.05)
    ws = await rig.workspace()
    endpoint = receiver.endpoint()
    await rig.webhook(ws, endpoint.url, transformation={"code": RESHAPE})
    monkeypatch.setattr(pool, "WORKER", pool.WORKER.with_name("missing.py"))
    await rig.send(ws, 1)
    rig.start()
    (dlv,) = await eventually(
        lambda: rig.deliveries(ws, "pending"),
        lambda found: len(found) == 1 and (found[0].last_error or "").startswith("internal_error"),
        what="deferred as a fault of Hookline's own",
    )
    assert dlv.attempt_count == 0
    monkeypatch.setattr(pool, "WORKER", pool.WORKER.with_name("worker.py"))
    await endpoint.arrived(1)
    await rig.settled(ws, 1)
    await rig.stop()
