"""Channels in the UI: the webhook form's one text field saves, shows and clears them and
puts a bad name next to the field; the webhook page and a delivery's page show them."""

from __future__ import annotations

import re

import pytest

from .conftest import Ui


@pytest.fixture
async def signed_in(ui: Ui) -> Ui:
    await ui.login()
    return ui


def error_of(html: str, name: str) -> str:
    found = re.search(rf'id="{name}-error">([^<]*)<', html)
    assert found, f"no error shown for {name}"
    return found.group(1)


async def test_the_form_saves_shows_and_clears_channels(signed_in: Ui) -> None:
    data: dict[str, object] = {
        "url": "https://example.com/hook",
        "events": ["*"],
        "channels": "project_123, org:acme.eu-1\n  team-7",
    }
    response = await signed_in.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert response.status_code == 303, response.text
    wh_id = response.headers["location"].rsplit("/", 1)[1]
    webhook = await signed_in.store.get_webhook(wh_id)
    assert webhook is not None
    assert webhook.channels == ("project_123", "org:acme.eu-1", "team-7")

    shown = await signed_in.client.get(f"/ui/webhooks/{wh_id}")
    listed = re.search(r'data-test="channels">(.*?)</dd>', shown.text, re.S)
    assert listed is not None
    assert re.findall(r"<code>([^<]*)</code>", listed.group(1)) == [
        "project_123",
        "org:acme.eu-1",
        "team-7",
    ]
    form = await signed_in.client.get(f"/ui/webhooks/{wh_id}/edit")
    assert 'value="project_123 org:acme.eu-1 team-7"' in form.text

    cleared = {**data, "channels": ""}
    assert (await signed_in.post(f"/ui/webhooks/{wh_id}/edit", cleared)).status_code == 303
    webhook = await signed_in.store.get_webhook(wh_id)
    assert webhook is not None and webhook.channels == ()
    shown = await signed_in.client.get(f"/ui/webhooks/{wh_id}")
    assert "None: every event, with channels or without" in shown.text


async def test_a_bad_channel_is_shown_next_to_the_field(signed_in: Ui) -> None:
    data = {"url": "https://example.com/hook", "events": ["*"], "channels": "ok a/b"}
    response = await signed_in.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert response.status_code == 422
    assert "A channel name is 1-128 letters" in error_of(response.text, "channels")
    assert 'value="ok a/b"' in response.text  # what was typed stays


async def test_a_deliverys_page_shows_its_events_channels(signed_in: Ui) -> None:
    hooks = await signed_in.api("GET", "/v1/workspaces/acme/webhooks")
    event = {"type": "order.paid", "data": {}, "channels": ["eu", "vip"]}
    await signed_in.api("POST", "/v1/workspaces/acme/events", 202, json=event)
    (dlv,) = await signed_in.api("GET", f"/v1/webhooks/{hooks[0]['id']}/deliveries")
    page = await signed_in.client.get(f"/ui/deliveries/{dlv['id']}")
    listed = re.search(r'data-test="event-channels">(.*?)</dd>', page.text, re.S)
    assert listed is not None
    assert re.findall(r"<code>([^<]*)</code>", listed.group(1)) == ["eu", "vip"]
