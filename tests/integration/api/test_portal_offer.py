"""The deployment's portal offer, enforced by the service for portal sessions on both stores:
what is not offered is refused with 403 ``not_offered`` (clearing is allowed); keys are not
bound by it."""

from __future__ import annotations

from typing import Any

import pytest
from support.app import Api, MakeApi

from hookline.domain.models import Role
from hookline.domain.portal_offer import PortalOffer
from hookline.domain.webhook_commands import parse_change, parse_create
from hookline.errors import Forbidden
from hookline.service.access import ADMIN, Principal

PORTAL = Principal(key_id="portal:admin", workspace_id="acme", role=Role.ADMIN, portal=True)
HOOK = {"url": "https://example.com/hook", "events": ["*"]}
BARE = PortalOffer(auth=False, filters=False, headers=False, rate_limit=False)
OPTIONS: list[tuple[str, Any, str]] = [
    ("headers", {"X-Team": "blue"}, "custom headers"),
    ("forwardHeadersOnRedirect", True, "custom headers"),
    ("filter", {"path": "$.total", "gte": 100}, "payload filters"),
    ("auth", {"type": "bearer", "token": "t0ken-t0ken"}, "endpoint authentication"),
    ("rateLimit", 5, "rate limits"),
]
RABBIT = {
    "type": "rabbitmq",
    "url": "amqps://broker.example.com/",
    "exchange": "events",
    "routingKey": "orders",
}


async def started(make_api: MakeApi, database: str, offer: PortalOffer) -> Api:
    api = await make_api(database_url=database, portal_offer=offer)
    await api.workspace(id="acme", name="Acme")
    return api


@pytest.fixture
async def bare(make_api: MakeApi, database: str) -> Api:
    return await started(make_api, database, BARE)


@pytest.mark.parametrize(("name", "value", "what"), OPTIONS, ids=[o[0] for o in OPTIONS])
async def test_an_option_not_offered_is_refused_to_the_portal(
    bare: Api, name: str, value: Any, what: str
) -> None:
    webhooks = bare.services.webhooks
    with pytest.raises(Forbidden) as refused:
        await webhooks.create(PORTAL, "acme", parse_create({**HOOK, name: value}))
    assert refused.value.error_code == "not_offered"
    assert refused.value.status == 403 and what in refused.value.message
    wh = await webhooks.create(PORTAL, "acme", parse_create(HOOK))
    with pytest.raises(Forbidden, match=what):
        await webhooks.update(PORTAL, wh.id, parse_change({name: value}))
    # A key is not bound by the portal's offer.
    await webhooks.update(ADMIN, wh.id, parse_change({name: value}))


async def test_the_portal_may_clear_what_it_is_not_offered(bare: Api) -> None:
    webhooks = bare.services.webhooks
    body = {**HOOK, "headers": {"X-Team": "blue"}, "filter": {"path": "$.a", "exists": True}}
    wh = await webhooks.create(ADMIN, "acme", parse_create(body))
    cleared = await webhooks.update(
        PORTAL, wh.id, parse_change({"headers": {}, "filter": None, "auth": None, "name": "Mine"})
    )
    assert (cleared.headers, cleared.filter, cleared.name) == ({}, None, "Mine")


async def test_queue_destinations_only_when_offered(make_api: MakeApi, database: str) -> None:
    api = await started(make_api, database, PortalOffer())
    with pytest.raises(Forbidden, match="RabbitMQ exchange destinations") as refused:
        await api.services.webhooks.create(
            PORTAL, "acme", parse_create({"events": ["*"], "destination": RABBIT})
        )
    assert refused.value.details == [
        {"field": "destination", "message": "RabbitMQ exchange destinations are not offered"}
    ]


async def test_a_queue_destination_the_deployment_offers(make_api: MakeApi, database: str) -> None:
    api = await started(make_api, database, PortalOffer(destinations=("http", "rabbitmq")))
    wh = await api.services.webhooks.create(
        PORTAL, "acme", parse_create({"events": ["*"], "destination": RABBIT})
    )
    assert wh.destination is not None and wh.destination.kind == "rabbitmq"


async def test_http_endpoints_only_when_offered(make_api: MakeApi, database: str) -> None:
    api = await started(make_api, database, PortalOffer(destinations=("rabbitmq",)))
    with pytest.raises(Forbidden, match="HTTP endpoints"):
        await api.services.webhooks.create(PORTAL, "acme", parse_create(HOOK))
    await api.services.webhooks.create(ADMIN, "acme", parse_create(HOOK))
