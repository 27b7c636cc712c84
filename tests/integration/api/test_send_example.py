"""A catalog example sent as a test (POST /v1/webhooks/{id}/test with eventType), on both
stores: the example's data, tagged and flagged as a test like a test ping."""

from __future__ import annotations

import pytest
from support.app import Api, MakeApi, assert_error

EXAMPLE = {"order": {"id": "ord_1", "total": 120}}


@pytest.fixture
async def api(make_api: MakeApi, database: str) -> Api:
    made = await make_api(database_url=database)
    await made.workspace(id="acme", name="Acme")
    await made.ok("POST", "/v1/event-types", 201, json={"name": "order.paid", "example": EXAMPLE})
    await made.ok("POST", "/v1/event-types", 201, json={"name": "order.refunded"})
    made.deliver_on_wake()
    return made


async def test_the_example_goes_out_as_a_test(api: Api) -> None:
    wh = await api.webhook("acme", events=["course.*"])
    sent = await api.ok("POST", f"/v1/webhooks/{wh['id']}/test", json={"eventType": "order.paid"})
    assert (sent["eventType"], sent["tags"], sent["status"]) == (
        "order.paid",
        ["test"],
        "succeeded",
    )
    assert len(sent["attempts"]) == 1
    detail = await api.ok("GET", f"/v1/deliveries/{sent['id']}")
    assert detail["event"]["data"] == EXAMPLE
    ping = await api.ok("POST", f"/v1/webhooks/{wh['id']}/test", json={})
    assert (ping["eventType"], ping["tags"]) == ("test", ["test"])


async def test_a_type_without_an_example_or_outside_the_catalog(api: Api) -> None:
    wh = await api.webhook("acme")
    path = f"/v1/webhooks/{wh['id']}/test"
    assert_error(await api.post(path, json={"eventType": "order.refunded"}), 422, "no_example")
    assert_error(await api.post(path, json={"eventType": "order.lost"}), 404)
    assert_error(await api.post(path, json={"eventType": "order.paid", "x": 1}), 422)
    member = await api.key("acme", "member")
    response = await api.post(path, json={"eventType": "order.paid"}, key=member)
    assert_error(response, 403)
