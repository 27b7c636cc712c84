"""The operator's pages in process: API keys (shown once, revoked after a confirmation),
a workspace's plan, portal links, where its operational events go, and who sees them."""

from __future__ import annotations

import re

import pytest

from hookline.service.operational import OPERATOR_WORKSPACE, TYPE_NAMES

from .conftest import ADMIN_KEY, MakeUi, Ui
from .test_pages import title_and_heading

KEY_RE = re.compile(r'id="new-key-value" type="text" readonly value="(hk_[^"]+)"')
LINK_RE = re.compile(r'id="portal-link-value" type="text" readonly value="([^"]+)"')


@pytest.fixture
async def signed_in(ui: Ui) -> Ui:
    await ui.login()
    return ui


async def portal_session(ui: Ui, ws: str = "acme") -> None:
    link = await ui.api("POST", f"/v1/workspaces/{ws}/portal-link")
    response = await ui.client.get(link["url"].removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 303


async def test_a_created_key_is_shown_once_works_and_is_revoked_after_asking(
    signed_in: Ui,
) -> None:
    ui = signed_in
    made = await ui.post("/ui/w/acme/keys", {"name": "Billing", "role": "publisher"})
    assert made.status_code == 303 and made.headers["location"] == "/ui/w/acme/keys"
    created = await ui.client.get("/ui/w/acme/keys")
    found = KEY_RE.search(created.text)
    assert found and "it is not shown again" in created.text
    key = found.group(1)
    # Shown once: a reload shows it no more (and the form made one key, not two).
    again = await ui.client.get("/ui/w/acme/keys")
    assert again.status_code == 200 and key not in again.text
    sent = await ui.client.post(
        "/v1/workspaces/acme/events",
        json={"type": "a.b", "data": {}},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert sent.status_code == 202
    (listed,) = [k for k in await ui.api("GET", "/v1/workspaces/acme/api-keys")]
    assert (listed["name"], listed["role"]) == ("Billing", "publisher")

    assert listed["id"] in again.text and "Billing" in again.text

    confirm = await ui.client.get(f"/ui/api-keys/{listed['id']}/revoke")
    assert confirm.status_code == 200 and "Revoke this API key?" in confirm.text
    assert (await ui.api("GET", "/v1/workspaces/acme/api-keys")) != []  # asking revokes nothing
    done = await ui.post(f"/ui/api-keys/{listed['id']}/revoke", page="/ui/w/acme/keys")
    assert done.status_code == 303 and done.headers["location"] == "/ui/w/acme/keys"
    refused = await ui.client.post(
        "/v1/workspaces/acme/events",
        json={"type": "a.b", "data": {}},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert refused.status_code == 401
    assert await ui.api("GET", "/v1/workspaces/acme/api-keys") == []


async def test_the_key_form_says_what_is_wrong(signed_in: Ui) -> None:
    for fields, message in (
        ({"name": "", "role": "admin"}, "Enter a name"),
        ({"name": "x" * 201, "role": "admin"}, "at most 200 characters"),
        ({"name": "CI", "role": "root"}, "Choose a role."),
    ):
        response = await signed_in.post("/ui/w/acme/keys", fields)
        assert response.status_code == 422 and message in response.text, fields
        assert not KEY_RE.search(response.text)
    assert await signed_in.api("GET", "/v1/workspaces/acme/api-keys") == []


async def test_an_owner_key_manages_its_own_workspaces_keys_only(ui: Ui) -> None:
    owner = await ui.key("acme", "owner")
    await ui.login(owner)
    assert (await ui.client.get("/ui/w/acme/keys")).status_code == 200
    assert (await ui.client.get("/ui/w/globex/keys")).status_code == 404
    await ui.key("globex", "admin")
    (foreign,) = await ui.api("GET", "/v1/workspaces/globex/api-keys")
    assert (await ui.client.get(f"/ui/api-keys/{foreign['id']}/revoke")).status_code == 404
    response = await ui.post(f"/ui/api-keys/{foreign['id']}/revoke", page="/ui/w/acme/keys")
    assert response.status_code == 404
    assert len(await ui.api("GET", "/v1/workspaces/globex/api-keys")) == 1
    # Not the admin key: the plan is shown, not offered.
    settings = await ui.client.get("/ui/w/acme/settings")
    assert settings.status_code == 200 and 'name="plan"' not in settings.text
    refused = await ui.post("/ui/w/acme/plan", {"plan": "pro"}, page="/ui/w/acme/settings")
    assert refused.status_code == 403
    assert (await ui.api("GET", "/v1/workspaces/acme"))["plan"] == "free"


async def test_an_admin_role_key_sees_settings_but_not_keys(ui: Ui) -> None:
    await ui.login(await ui.key("acme", "admin"))
    assert (await ui.client.get("/ui/w/acme/keys")).status_code == 403
    settings = await ui.client.get("/ui/w/acme/settings")
    assert settings.status_code == 200 and 'href="/ui/w/acme/keys"' not in settings.text
    await ui.post("/ui/w/acme/portal-link", {"expiresIn": "900"}, page="/ui/w/acme/settings")
    assert LINK_RE.search((await ui.client.get("/ui/w/acme/settings")).text)


async def test_a_portal_session_never_sees_the_operators_pages(ui: Ui) -> None:
    await ui.key("acme", "owner")
    (key,) = await ui.api("GET", "/v1/workspaces/acme/api-keys")
    await portal_session(ui)
    home = await ui.client.get("/ui/w/acme")
    assert home.status_code == 200 and "/ui/w/acme/settings" not in home.text
    for path in ("/ui/w/acme/keys", "/ui/w/acme/settings", f"/ui/api-keys/{key['id']}/revoke"):
        response = await ui.client.get(path)
        assert response.status_code == 404, path
    token = await ui.csrf("/ui/w/acme")
    for path, data in (
        ("/ui/w/acme/keys", {"name": "mine", "role": "owner"}),
        (f"/ui/api-keys/{key['id']}/revoke", {}),
        ("/ui/w/acme/plan", {"plan": "pro"}),
        ("/ui/w/acme/portal-link", {"expiresIn": "900"}),
    ):
        response = await ui.client.post(path, data={"csrf": token, **data})
        assert response.status_code == 404, path
    assert [k["id"] for k in await ui.api("GET", "/v1/workspaces/acme/api-keys")] == [key["id"]]
    assert (await ui.api("GET", "/v1/workspaces/acme"))["plan"] == "free"


async def test_a_plan_change_applies_the_plans_limit(make_ui: MakeUi) -> None:
    ui = await make_ui(plans={"free": {"maxWebhooks": 10}, "tiny": {"maxWebhooks": 1}})
    await ui.api("POST", "/v1/workspaces", 201, json={"id": "acme", "name": "Acme"})
    await ui.login()
    page = await ui.client.get("/ui/w/acme/settings")
    assert "tiny — 1 endpoints" in page.text and "free — 10 endpoints" in page.text
    changed = await ui.post("/ui/w/acme/plan", {"plan": "tiny"}, page="/ui/w/acme/settings")
    assert changed.status_code == 303
    assert (await ui.api("GET", "/v1/workspaces/acme"))["plan"] == "tiny"
    shown = await ui.client.get("/ui/w/acme/settings")
    assert "tiny plan now" in shown.text and "at most 1 endpoints" in shown.text
    body = {"url": "https://a.example.com/h", "events": ["*"]}
    await ui.api("POST", "/v1/workspaces/acme/webhooks", 201, json=body)
    over = await ui.client.post(
        "/v1/workspaces/acme/webhooks", json=body, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    )
    assert over.status_code == 403 and over.json()["error"]["code"] == "plan_limit_reached"
    unknown = await ui.post("/ui/w/acme/plan", {"plan": "gold"}, page="/ui/w/acme/settings")
    assert unknown.status_code == 422 and "Unknown plan" in unknown.text


async def test_a_portal_link_from_the_settings_page_opens_the_portal_once(signed_in: Ui) -> None:
    ui = signed_in
    made = await ui.post(
        "/ui/w/acme/portal-link", {"expiresIn": "3600"}, page="/ui/w/acme/settings"
    )
    assert made.status_code == 303 and made.headers["location"] == "/ui/w/acme/settings"
    issued = await ui.client.get("/ui/w/acme/settings")
    found = LINK_RE.search(issued.text)
    assert found and "it is not shown again" in issued.text
    assert '<option value="3600" selected>' in issued.text
    assert not LINK_RE.search((await ui.client.get("/ui/w/acme/settings")).text)
    path = found.group(1).removeprefix("http://127.0.0.1:8000")
    await ui.post("/ui/logout", page="/ui/w/acme")
    assert (await ui.client.get(path)).headers["location"] == "/ui/w/acme"
    assert "Portal · Acme" in (await ui.client.get("/ui/w/acme")).text
    await ui.post("/ui/logout", page="/ui/w/acme")
    assert (await ui.client.get(path)).status_code == 403  # once
    await ui.login()
    for wrong in ("59", "86401", "soon"):
        refused = await ui.post(
            "/ui/w/acme/portal-link", {"expiresIn": wrong}, page="/ui/w/acme/settings"
        )
        assert refused.status_code == 422, wrong


async def test_the_settings_page_says_where_operational_events_go(signed_in: Ui) -> None:
    ui = signed_in
    off = await ui.client.get("/ui/w/acme/settings")
    assert "Operational events are off" in off.text
    await ui.api("POST", "/v1/workspaces", 201, json={"id": OPERATOR_WORKSPACE, "name": "Ops"})
    deployment = await ui.api(
        "POST",
        f"/v1/workspaces/{OPERATOR_WORKSPACE}/webhooks",
        201,
        json={"url": "https://ops.example.com/all", "events": ["*"], "name": "Everyone's"},
    )
    scoped = await ui.api(
        "POST",
        f"/v1/workspaces/{OPERATOR_WORKSPACE}/webhooks",
        201,
        json={
            "url": "https://ops.example.com/acme",
            "events": ["endpoint.*"],
            "name": "Acme's manager",
            "metadata": {"workspace": "acme"},
        },
    )

    def routes(html: str) -> dict[str, list[str]]:
        listed = html[html.index('id="operational-routes"') :]
        rows = re.findall(r'<li data-type="([^"]+)">(.*?)</li>', listed, re.S)
        return {name: re.findall(r'href="/ui/webhooks/(wh_[^"]+)"', cell) for name, cell in rows}

    acme = routes((await ui.client.get("/ui/w/acme/settings")).text)
    assert set(acme) == set(TYPE_NAMES)
    assert acme["endpoint.paused"] == [scoped["id"]]
    assert acme["delivery.exhausted"] == [deployment["id"]]
    globex = routes((await ui.client.get("/ui/w/globex/settings")).text)
    assert all(hooks == [deployment["id"]] for hooks in globex.values())
    own = await ui.client.get(f"/ui/w/{OPERATOR_WORKSPACE}/settings")
    assert "This is the operator workspace" in own.text


async def test_a_shown_once_value_is_only_for_the_session_and_page_it_was_made_for(
    signed_in: Ui,
) -> None:
    ui = signed_in
    made = await ui.post("/ui/w/acme/keys", {"name": "Billing", "role": "publisher"})
    (handed,) = [c for c in ui.client.cookies.jar if c.name == "hookline_reveal"]
    assert handed.path == "/ui/w/acme/keys" and made.status_code == 303
    assert handed.has_nonstandard_attr("HttpOnly")
    await ui.post("/ui/logout", page="/ui/w/acme")
    await ui.login()  # another session of the same key
    ui.client.cookies.set("hookline_reveal", str(handed.value), path="/ui/w/acme/keys")
    page = await ui.client.get("/ui/w/acme/keys")
    assert page.status_code == 200 and not KEY_RE.search(page.text)
    ui.client.cookies.set("hookline_reveal", str(handed.value), path="/ui/w/acme/settings")
    assert "hk_" not in (await ui.client.get("/ui/w/acme/settings")).text


async def test_the_forms_need_the_pages_csrf_token(signed_in: Ui) -> None:
    ui = signed_in
    await ui.key("acme", "publisher")
    (key,) = await ui.api("GET", "/v1/workspaces/acme/api-keys")
    for path, data in (
        ("/ui/w/acme/keys", {"name": "mine", "role": "owner"}),
        (f"/ui/api-keys/{key['id']}/revoke", {}),
        ("/ui/w/acme/plan", {"plan": "pro"}),
        ("/ui/w/acme/portal-link", {"expiresIn": "900"}),
    ):
        response = await ui.client.post(path, data={"csrf": "forged", **data})
        assert response.status_code == 403 and "CSRF check failed" in response.text, path
    assert [k["id"] for k in await ui.api("GET", "/v1/workspaces/acme/api-keys")] == [key["id"]]
    assert (await ui.api("GET", "/v1/workspaces/acme"))["plan"] == "free"
    assert "hookline_reveal" not in ui.client.cookies


async def test_each_pages_title_starts_with_its_heading(signed_in: Ui) -> None:
    await signed_in.key("acme", "publisher")
    (key,) = await signed_in.api("GET", "/v1/workspaces/acme/api-keys")
    for path in ("/ui/w/acme/settings", "/ui/w/acme/keys", f"/ui/api-keys/{key['id']}/revoke"):
        title, heading = title_and_heading((await signed_in.client.get(path)).text)
        assert title == heading, path
