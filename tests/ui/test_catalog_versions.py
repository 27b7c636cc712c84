"""The catalog page with versioned schemas, against the in-process app: every version with
its example and schema, newest first, the deprecated flag, and send-example sending the
latest version's example."""

from __future__ import annotations

import asyncio
import html
import re

from support.settle import settle

from ui.conftest import MakeUi, Ui

V1 = {"type": "object", "required": ["user"]}
V2 = {"type": "object", "required": ["user", "plan"]}
EX1 = {"user": "first-version-user"}
EX2 = {"user": "u_2", "plan": "second-version-plan"}


async def catalog_with_versions(make_ui: MakeUi) -> Ui:
    ui = await make_ui()
    await ui.login()
    await ui.api("POST", "/v1/workspaces", 201, json={"id": "acme", "name": "Acme"})
    body = {
        "name": "user.signed_up",
        "schemas": {"1": V1, "2": V2},
        "examples": {"1": EX1, "2": EX2},
        "deprecated": True,
    }
    await ui.api("POST", "/v1/event-types", 201, json=body)
    await ui.api("POST", "/v1/event-types", 201, json={"name": "user.left", "schema": V1})
    return ui


def card(page: str, name: str) -> str:
    found = re.search(
        rf'<article class="card event-type" id="type-{name}">(.*?)</article>', page, re.S
    )
    assert found, f"no card for {name}"
    return found.group(1)


def version_block(card_html: str, version: str) -> str:
    found = re.search(rf'data-version="{version}"(.*?)</section>', card_html, re.S)
    assert found, f"no version {version}"
    return html.unescape(found.group(1))


async def test_each_version_is_shown_with_its_example_newest_first(make_ui: MakeUi) -> None:
    ui = await catalog_with_versions(make_ui)
    page = (await ui.client.get("/ui/w/acme/catalog")).text
    versions = card(page, "user.signed_up")
    assert versions.index('data-version="2"') < versions.index('data-version="1"')
    latest, first = version_block(versions, "2"), version_block(versions, "1")
    assert "Version 2" in latest and "Latest" in latest
    assert "Version 1" in first and "Latest" not in first
    assert EX2["plan"] in latest and EX1["user"] not in latest
    assert EX1["user"] in first and EX2["plan"] not in first
    assert '"plan"' in latest  # the schema of version 2 requires it
    assert "Deprecated" in versions

    single = card(page, "user.left")
    assert "Version 1" not in single and "Deprecated" not in single
    assert "No example." in single and '"required"' in html.unescape(single)


async def test_send_example_sends_the_latest_versions_example(make_ui: MakeUi) -> None:
    ui = await catalog_with_versions(make_ui)
    wh = await ui.api(
        "POST",
        "/v1/workspaces/acme/webhooks",
        201,
        json={"url": "https://a.example.com/h", "events": ["*"], "name": "CRM"},
    )
    page = (await ui.client.get("/ui/w/acme/catalog")).text
    assert "Version 2's example" in card(page, "user.signed_up")
    settling: list[asyncio.Task[list[str]]] = []
    ui.services.ctx.wake = lambda: settling.append(asyncio.create_task(settle(ui.store)))
    sent = await ui.post(
        "/ui/w/acme/catalog/example",
        {"type": "user.signed_up", "webhook": wh["id"]},
        page="/ui/w/acme/catalog",
    )
    assert sent.status_code == 303
    await asyncio.gather(*settling)
    (dlv,) = await ui.api("GET", f"/v1/webhooks/{wh['id']}/deliveries")
    detail = await ui.api("GET", f"/v1/deliveries/{dlv['id']}")
    assert detail["event"]["data"] == EX2
