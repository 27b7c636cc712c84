"""The dispatcher and per-event ttl, in-process on a real SQLite store against receivers on
127.0.0.1: a due delivery whose event expired is ended by the claim without a request,
counted, and told to the operator's endpoint as ``delivery.expired``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from support.receiver import Receiver
from test_dispatcher import Rig, rigs  # noqa: F401 (fixture)

from hookline.domain.models import DeliveryStatus, Event
from hookline.ids import new_id, now_ms
from hookline.service.operational import provision
from hookline.store.port import NewEvent


async def test_a_delivery_expired_while_waiting_is_ended_unsent_counted_and_told(
    rigs: Callable[..., Awaitable[Rig]],  # noqa: F811
    receiver: Receiver,
) -> None:
    rig = await rigs()
    operator = receiver.endpoint()
    await provision(rig.svc, operator.url, None)
    ws = await rig.workspace()
    endpoint = receiver.endpoint()
    wh_id = await rig.webhook(ws, endpoint.url)
    created = now_ms() - 10_000
    late, fresh = new_id("dlv"), new_id("dlv")
    for dlv_id, expires_at in ((late, created + 5_000), (fresh, None)):
        event = Event(
            id=new_id("evt"), workspace_id=ws, type="job.done", data_json="{}", created_at=created
        )
        await rig.store.insert_events(
            [
                NewEvent(
                    event=event, webhook_ids=[wh_id], delivery_ids=[dlv_id], expires_at=expires_at
                )
            ]
        )

    rig.start()
    await endpoint.arrived(1)
    told = await operator.arrived(1)
    await rig.stop()

    expired = await rig.store.get_delivery(late)
    assert expired is not None
    assert (expired.status, expired.attempt_count) == (DeliveryStatus.EXPIRED, 0)
    sent = await rig.store.get_delivery(fresh)
    assert sent is not None and sent.status is DeliveryStatus.SUCCEEDED
    assert [r.delivery for r in endpoint.requests] == [sent.event_id]
    registry = rig.ctx.metrics.registry
    assert registry.get_sample_value("hookline_deliveries_total", {"outcome": "expired"}) == 1
    body = json.loads(told[0].body)
    assert body["type"] == "delivery.expired"
    assert body["data"] | {"at": None} == {
        "workspaceId": ws,
        "webhookId": wh_id,
        "url": endpoint.url,
        "name": "",
        "at": None,
        "deliveryId": late,
        "eventId": expired.event_id,
        "eventType": "job.done",
        "attemptCount": 0,
        "lastStatusCode": None,
        "lastError": None,
    }
