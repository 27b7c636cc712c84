"""What a portal user sees, against the in-process app: the deployment's portal offer in the
endpoint form, no operator material, and the catalog's examples sent as tests."""

from __future__ import annotations

import asyncio
from typing import Any

from support.settle import settle

from hookline.domain.portal_offer import PortalOffer
from ui.conftest import MakeUi, Ui

BARE = PortalOffer(auth=False, filters=False, headers=False, rate_limit=False)
EXAMPLE = {"order": {"id": "ord_1", "total": 120}}


async def portal(ui: Ui, ws: str = "acme") -> None:
    """Sign the client in through a portal link of ``ws``."""
    link = await ui.api("POST", f"/v1/workspaces/{ws}/portal-link")
    redeemed = await ui.client.get(link["url"].removeprefix("http://127.0.0.1:8000"))
    assert redeemed.status_code == 303


async def acme(make_ui: MakeUi, **settings: Any) -> Ui:
    ui = await make_ui(**settings)
    await ui.api("POST", "/v1/workspaces", 201, json={"id": "acme", "name": "Acme"})
    return ui


async def test_the_portal_form_offers_http_endpoints_only_by_default(make_ui: MakeUi) -> None:
    ui = await acme(make_ui)
    await ui.login()
    operator = (await ui.client.get("/ui/w/acme/webhooks/new")).text
    assert 'name="destination_type"' in operator and "RabbitMQ exchange" in operator
    await ui.client.post("/ui/logout", data={"csrf": await ui.csrf("/ui/w/acme")})

    await portal(ui)
    form = (await ui.client.get("/ui/w/acme/webhooks/new")).text
    for hidden in ("destination_type", "RabbitMQ", "NATS", "Redis", "Amazon", ".internal"):
        assert hidden not in form, hidden
    for shown in ('name="header_name"', 'name="filter"', 'name="auth_type"'):
        assert shown in form, shown


async def test_a_bare_portal_form_has_the_url_the_events_and_a_name(make_ui: MakeUi) -> None:
    ui = await acme(make_ui, portal_offer=BARE)
    operator_set = {"path": "$.order.total", "gte": 100}
    wh = await ui.api(
        "POST",
        "/v1/workspaces/acme/webhooks",
        201,
        json={"url": "https://a.example.com/h", "events": ["*"], "filter": operator_set},
    )
    await portal(ui)
    form = (await ui.client.get("/ui/w/acme/webhooks/new")).text
    for hidden in ('name="header_name"', 'name="filter"', 'name="auth_type"', "destination"):
        assert hidden not in form, hidden
    assert 'name="url"' in form and 'name="events"' in form and 'name="name"' in form

    created = await ui.post(
        "/ui/w/acme/webhooks/new",
        {"url": "https://b.example.com/h", "events": "*", "name": "Mine"},
        page="/ui/w/acme/webhooks/new",
    )
    assert created.status_code == 303, created.text
    # An edit through the portal leaves what it does not offer as the operator set it.
    edited = await ui.post(
        f"/ui/webhooks/{wh['id']}/edit",
        {"url": "https://a.example.com/h2", "events": "*", "name": "Renamed"},
        page=f"/ui/webhooks/{wh['id']}/edit",
    )
    assert edited.status_code == 303, edited.text
    after = await ui.api("GET", f"/v1/webhooks/{wh['id']}")
    assert (after["name"], after["filter"]) == ("Renamed", operator_set)
    page = (await ui.client.get(f"/ui/webhooks/{wh['id']}")).text
    assert "Custom headers" not in page and "Endpoint authentication" not in page


async def test_an_empty_catalog_tells_a_portal_user_no_admin_instructions(
    make_ui: MakeUi,
) -> None:
    ui = await acme(make_ui)
    await ui.login()
    assert "POST /v1/event-types" in (await ui.client.get("/ui/w/acme/catalog")).text
    await ui.client.post("/ui/logout", data={"csrf": await ui.csrf("/ui/w/acme")})
    await portal(ui)
    page = (await ui.client.get("/ui/w/acme/catalog")).text
    assert "The catalog is empty" in page
    assert "POST /v1" not in page and "admin key" not in page


async def test_send_example_delivers_the_catalogs_example_as_a_test(make_ui: MakeUi) -> None:
    ui = await acme(make_ui)
    await ui.api(
        "POST",
        "/v1/event-types",
        201,
        json={"name": "order.paid", "description": "An order was paid.", "example": EXAMPLE},
    )
    wh = await ui.api(
        "POST",
        "/v1/workspaces/acme/webhooks",
        201,
        json={"url": "https://a.example.com/h", "events": ["course.*"], "name": "CRM"},
    )
    settling: list[asyncio.Task[list[str]]] = []
    ui.services.ctx.wake = lambda: settling.append(asyncio.create_task(settle(ui.store)))
    await portal(ui)
    catalog = (await ui.client.get("/ui/w/acme/catalog")).text
    assert "An order was paid." in catalog and "Send example" in catalog

    sent = await ui.post(
        "/ui/w/acme/catalog/example",
        {"type": "order.paid", "webhook": wh["id"]},
        page="/ui/w/acme/catalog",
    )
    assert sent.status_code == 303
    location = sent.headers["location"]
    assert location.startswith(f"/ui/webhooks/{wh['id']}?test=dlv_")
    await asyncio.gather(*settling)
    page = (await ui.client.get(location)).text
    assert "Example of <code>order.paid</code> sent as a test" in page and "Delivered" in page
    (dlv,) = await ui.api("GET", f"/v1/webhooks/{wh['id']}/deliveries")
    assert (dlv["eventType"], dlv["tags"]) == ("order.paid", ["test"])
    detail = await ui.api("GET", f"/v1/deliveries/{dlv['id']}")
    assert detail["event"]["data"] == EXAMPLE
