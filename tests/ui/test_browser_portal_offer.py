"""A portal user in Chromium sees only what the deployment offers: no queue, stream or topic
destination and no operator instruction by default; the destination kinds a deployment lists
when it lists them. And a catalog example, sent from the portal, arrives flagged as a test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.browser import sign_in
from support.receiver import Receiver
from support.server import Api, Hookline

pytestmark = pytest.mark.slow

QUEUE_WORDS = ("RabbitMQ", "NATS", "Redis", "Amazon", "amqp://", ".internal")
ADMIN_WORDS = ("POST /v1", "admin key", "Authorization: Bearer")
EXAMPLE = {"order": {"id": "ord_1", "total": 120}}


@pytest.fixture(scope="module")
def generous(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[Hookline]:
    """A deployment that offers its customers RabbitMQ destinations beside HTTP."""
    env = {"HOOKLINE_PORTAL_OFFER": json.dumps({"destinations": ["http", "rabbitmq"]})}
    with Hookline(tmp_path_factory.mktemp("hookline-generous"), env=env).running() as server:
        yield server


def portal_page(ctx: Any, api: Api, ws: str) -> Any:
    link = api.post(f"/v1/workspaces/{ws}/portal-link", {"expiresIn": 600})
    page = ctx.new_page()
    page.goto(link["url"])
    return page


def seen_text(page: Any) -> str:
    """Everything on the page a person could read, option labels and hints included, with every
    collapsed section (the form's advanced options) opened."""
    opened(page)
    return str(page.locator("body").inner_text()) + " ".join(
        page.locator("option").all_inner_texts()
    )


def opened(page: Any) -> None:
    """Open every collapsed section of the page, as a person would to see all of it."""
    page.locator("main details:not(.menu)").evaluate_all(
        "sections => sections.forEach(s => { s.open = true })"
    )


def test_a_portal_user_sees_no_queue_kind_and_no_admin_instruction(
    context: Any,
    browser: Any,
    api: Api,
    hookline: Hookline,
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(name="Customer Co")
    page = portal_page(context, api, ws)
    for path in (f"/ui/w/{ws}", f"/ui/w/{ws}/webhooks/new", f"/ui/w/{ws}/catalog"):
        page.goto(path)
        text = seen_text(page)
        for word in QUEUE_WORDS + ADMIN_WORDS:
            assert word not in text, (path, word)
    page.goto(f"/ui/w/{ws}/webhooks/new")
    expect(page.get_by_label("Endpoint URL")).to_be_visible()
    expect(page.locator("select[name=destination_type]")).to_have_count(0)
    page.goto(f"/ui/w/{ws}/catalog")
    expect(page.get_by_text("No event types are described here yet.")).to_be_visible()

    # The operator, signed in with the admin key in a browser of their own, gets everything.
    operator = browser.new_context(base_url=hookline.base_url).new_page()
    sign_in(operator, hookline.admin_key or "")
    operator.goto(f"/ui/w/{ws}/webhooks/new")
    kinds = operator.locator("select[name=destination_type] option").all_text_contents()
    assert "RabbitMQ exchange" in kinds and "NATS JetStream subject" in kinds
    operator.goto(f"/ui/w/{ws}/catalog")
    expect(operator.get_by_text("POST /v1/event-types")).to_be_visible()
    operator.context.close()


def test_a_deployment_that_offers_rabbitmq_shows_it_in_the_portal(
    context: Any,
    generous: Hookline,
) -> None:
    with generous.api() as api:
        ws = api.workspace(name="Broker Co")
        page = portal_page(context, api, ws)
    page.goto(f"{generous.base_url}/ui/w/{ws}/webhooks/new")
    kinds = page.locator("select[name=destination_type] option").all_text_contents()
    assert kinds == ["HTTP POST to the endpoint URL", "RabbitMQ exchange"]
    page.get_by_text("Advanced options").click()
    opened(page)
    page.get_by_label("Deliver by").select_option(label="RabbitMQ exchange")
    text = seen_text(page)
    assert "amqps://broker.example.com/" in text
    for word in ("NATS", "Redis", "Amazon", ".internal", *ADMIN_WORDS):
        assert word not in text, word


def test_send_example_from_the_portal_arrives_as_a_test(
    context: Any,
    api: Api,
    receiver: Receiver,
) -> None:
    from playwright.sync_api import expect

    name = "order.paid_from_portal"
    api.post(
        "/v1/event-types",
        {"name": name, "description": "An order was paid.", "example": EXAMPLE},
        status=201,
    )
    ws = api.workspace(name="Example Co")
    endpoint = receiver.endpoint()
    api.webhook(ws, endpoint.url, name="Orders", events=["nothing.*"])
    page = portal_page(context, api, ws)
    page.goto(f"/ui/w/{ws}/catalog")
    card = page.locator("article.event-type", has=page.get_by_text(name, exact=True))
    expect(card).to_contain_text("An order was paid.")
    card.get_by_label("Send this example to").select_option(label="Orders")
    card.get_by_role("button", name="Send example").click()
    expect(page.locator("#test-title")).to_contain_text(f"Example of {name} sent as a test")
    expect(page.locator("#test .result")).to_contain_text("Delivered")
    (got,) = endpoint.wait(1)
    envelope = json.loads(got.body)
    assert (envelope["type"], envelope["data"], envelope["test"]) == (name, EXAMPLE, True)
