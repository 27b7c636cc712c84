"""Who may frame which page, the portal's cookie, and a workspace's portal brand, against the
in-process app (the browser side is in test_portal_embed.py)."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import httpx

from hookline.domain.statuses import WebhookStatus
from hookline.ids import now_ms
from hookline.store.port import StatusChange, WebhookChanges
from hookline.ui.session import COOKIE, PORTAL_COOKIE

from .conftest import ADMIN_KEY, CSRF_RE, MakeUi, Ui

ORIGINS = "https://app.example.com,http://localhost:3000"
ANCESTORS = "frame-ancestors https://app.example.com http://localhost:3000;"


def unframeable(response: httpx.Response) -> bool:
    csp = response.headers["content-security-policy"]
    return response.headers.get("x-frame-options") == "DENY" and "frame-ancestors 'none'" in csp


def framable_by_the_origins(response: httpx.Response) -> bool:
    csp = response.headers["content-security-policy"]
    return "x-frame-options" not in response.headers and ANCESTORS in csp


async def embedding(make_ui: MakeUi) -> tuple[Ui, httpx.AsyncClient]:
    """An app whose portal the two origins may frame, served over HTTPS, with workspace acme;
    and a browser-like client of it (its cookies are Secure)."""
    ui = await make_ui(portal_origins=ORIGINS, public_url="https://hooks.example.com")
    await ui.api("POST", "/v1/workspaces", 201, json={"id": "acme", "name": "Acme"})
    return ui, visitor(ui)


def visitor(ui: Ui) -> httpx.AsyncClient:
    """Another browser, with cookies of its own."""
    return httpx.AsyncClient(
        transport=ui.client._transport,  # type: ignore[attr-defined]
        base_url="https://hooks.example.com",
    )


async def open_portal(ui: Ui, client: httpx.AsyncClient) -> httpx.Response:
    link = await ui.api("POST", "/v1/workspaces/acme/portal-link")
    return await client.get(link["url"].removeprefix("https://hooks.example.com"))


async def sign_in(client: httpx.AsyncClient) -> None:
    """Sign in with the admin key, from the sign-in page."""
    token = CSRF_RE.search((await client.get("/ui/login")).text)
    assert token
    response = await client.post("/ui/login", data={"csrf": token.group(1), "key": ADMIN_KEY})
    assert response.status_code == 303


async def test_without_portal_origins_no_page_may_be_framed(ui: Ui) -> None:
    assert unframeable(await ui.client.get("/ui/login"))
    link = await ui.api("POST", "/v1/workspaces/acme/portal-link")
    opened = await ui.client.get(link["url"].removeprefix("http://127.0.0.1:8000"))
    assert unframeable(opened)
    # The portal's session is then a first-party cookie like any other.
    morsel = SimpleCookie(opened.headers["set-cookie"])[COOKIE]
    assert morsel["samesite"] == "lax"
    page = await ui.client.get("/ui/w/acme")
    assert page.status_code == 200 and unframeable(page)
    assert "data-embed-origins" not in page.text


async def test_portal_pages_may_be_framed_by_the_origins_and_the_admin_ui_by_no_one(
    make_ui: MakeUi,
) -> None:
    ui, client = await embedding(make_ui)
    assert unframeable(await client.get("/ui/login"))
    opened = await open_portal(ui, client)
    assert opened.status_code == 303 and framable_by_the_origins(opened)
    # A partitioned cookie: kept for the framing site only, sent in its frames even where
    # third-party cookies are blocked.
    headers = opened.headers.get_list("set-cookie")
    (header,) = (h for h in headers if h.startswith(f"{PORTAL_COOKIE}="))
    # The sign-in page's first-party cookie is dropped.
    assert any(h.startswith(f"{COOKIE}=") and "Max-Age=0" in h for h in headers)
    assert re.search(r"(?i); HttpOnly", header) and re.search(r"(?i); Secure", header)
    assert re.search(r"(?i); SameSite=none", header) and header.endswith("; Partitioned")
    assert "; Path=/ui" in header
    page = await client.get("/ui/w/acme")
    assert page.status_code == 200 and framable_by_the_origins(page)
    assert 'data-embed-origins="https://app.example.com http://localhost:3000"' in page.text
    # An admin session is the admin UI: unframeable.
    operator = visitor(ui)
    await sign_in(operator)
    admin = await operator.get("/ui/workspaces")
    assert admin.status_code == 200 and unframeable(admin)


async def test_a_framed_portal_without_a_session_says_so_instead_of_the_sign_in_page(
    make_ui: MakeUi,
) -> None:
    ui, client = await embedding(make_ui)
    framed = await client.get("/ui/w/acme", headers={"Sec-Fetch-Dest": "iframe"})
    assert framed.status_code == 401 and framable_by_the_origins(framed)
    assert "Not signed in" in framed.text and 'action="/ui/login"' not in framed.text
    # Top-level, the same page still sends the visitor to sign in.
    assert (await client.get("/ui/w/acme")).headers["location"].startswith("/ui/login")

    await open_portal(ui, client)
    page = await client.get("/ui/w/acme")
    token = CSRF_RE.search(page.text)
    assert token
    out = await client.post("/ui/logout", data={"csrf": token.group(1)})
    assert out.status_code == 200 and framable_by_the_origins(out)
    assert "You are signed out" in out.text
    (gone,) = (h for h in out.headers.get_list("set-cookie") if h.startswith(PORTAL_COOKIE))
    assert "Max-Age=0" in gone and gone.endswith("; Partitioned")


async def test_a_used_portal_link_is_refused_on_a_portal_page(make_ui: MakeUi) -> None:
    ui, client = await embedding(make_ui)
    link = await ui.api("POST", "/v1/workspaces/acme/portal-link")
    path = link["url"].removeprefix("https://hooks.example.com")
    assert (await client.get(path)).status_code == 303
    again = await visitor(ui).get(path)
    assert again.status_code == 403 and framable_by_the_origins(again)
    assert "already used" in again.text and 'action="/ui/login"' not in again.text


# -- the brand ----------------------------------------------------------------------


async def test_a_workspace_brand_is_checked_kept_and_shown(make_ui: MakeUi) -> None:
    ui, client = await embedding(make_ui)
    brand = {
        "name": "Acme <Learning>",
        "logo": "https://cdn.acme.example/logo.png",
        "accentColor": "#0A7D5A",
        "footerLinks": [],
        "terms": {"endpoint": "integration"},
    }
    ws = await ui.api("PATCH", "/v1/workspaces/acme", json={"settings": {"portal": brand}})
    assert ws["settings"]["portal"]["accentColor"] == "#0a7d5a"
    assert ws["settings"]["portal"]["terms"]["endpoints"] == "integrations"
    await open_portal(ui, client)
    page = await client.get("/ui/w/acme")
    csp = page.headers["content-security-policy"]
    assert "img-src 'self' data: https://cdn.acme.example;" in csp
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce and f'<style nonce="{nonce.group(1)}">' in page.text
    assert "--accent: #0a7d5a" in page.text
    assert "Acme &lt;Learning&gt;" in page.text and "<Learning>" not in page.text
    assert "Hookline" not in re.sub(r"<[^>]*>", "", page.text.split("<body>", 1)[1])
    assert 'class="foot"' not in page.text
    assert "+ Add your first integration" in page.text
    form = await client.get("/ui/w/acme/webhooks/new")
    token = CSRF_RE.search(form.text)
    assert token and "Integration URL" in form.text
    created = await client.post(
        "/ui/w/acme/webhooks/new",
        data={"csrf": token.group(1), "url": "https://hooks.acme.example/in", "events": "*"},
    )
    assert created.status_code == 303, created.text
    shown = await client.get(created.headers["location"])
    assert "Integration created." in shown.text
    # The admin UI keeps Hookline's own look for the same workspace.
    operator = visitor(ui)
    await sign_in(operator)
    admin = await operator.get("/ui/w/acme")
    assert "Webhook Endpoints" in admin.text and "Acme &lt;Learning&gt;" not in admin.text


async def test_a_bad_brand_is_refused_with_every_reason(ui: Ui) -> None:
    bad = {
        "logo": '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "accentColor": "green",
        "theme": "blue",
        "footerLinks": [{"text": "Help", "url": "javascript:alert(1)"}],
        "terms": {"endpoint": "<b>"},
        "colour": "#fff",
    }
    response = await ui.client.patch(
        "/v1/workspaces/acme",
        json={"settings": {"portal": bad}},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_settings"
    details = "\n".join(error["details"])
    for part in (
        "settings.portal.colour is not a known field",
        "settings.portal.logo as inline SVG may not contain '<script'",
        "settings.portal.accentColor",
        "settings.portal.theme must be light or dark",
        "settings.portal.footerLinks[0].url",
        "settings.portal.terms.endpoint",
    ):
        assert part in details, (part, details)
    unchanged = await ui.api("GET", "/v1/workspaces/acme")
    assert "portal" not in unchanged["settings"]


async def test_a_branded_portal_names_the_brand_and_no_operator_key_for_a_status_change(
    make_ui: MakeUi,
) -> None:
    ui, client = await embedding(make_ui)
    await ui.api("PATCH", "/v1/workspaces/acme", json={"settings": {"portal": {"name": "Acme"}}})
    made = await ui.api(
        "POST",
        "/v1/workspaces/acme/webhooks",
        201,
        json={"url": "https://a.example/h", "events": ["*"]},
    )
    by_system = StatusChange(
        status=WebhookStatus.PAUSED, reason="too_many_failures", by="system", at=now_ms()
    )
    await ui.store.update_webhook(made["id"], WebhookChanges(status=by_system), now_ms())
    await open_portal(ui, client)

    def banner(page: httpx.Response) -> str:
        found = re.search(r'id="status-banner">(.*?)</div>', page.text, re.S)
        assert found, page.text
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1)))

    paused = banner(await client.get(f"/ui/webhooks/{made['id']}"))
    assert "Paused by Acme (automatically)" in paused and "Hookline" not in paused
    await ui.api("PATCH", f"/v1/webhooks/{made['id']}", json={"status": "disabled"})
    disabled = banner(await client.get(f"/ui/webhooks/{made['id']}"))
    assert "Disabled by the operator" in disabled and "admin key" not in disabled
    # The operator's own view still names the key that did it.
    operator = visitor(ui)
    await sign_in(operator)
    assert "by the admin key" in banner(await operator.get(f"/ui/webhooks/{made['id']}"))
