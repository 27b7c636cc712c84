"""Signing in and out, sessions, CSRF and portal links, against the in-process app."""

from __future__ import annotations

from http.cookies import SimpleCookie

import fastapi.routing
import pytest

from hookline.ids import now_ms
from hookline.service.portal_links import PortalTokens, signing_secret
from hookline.ui.session import COOKIE, Session, Signer

from .conftest import ADMIN_KEY, Ui


def session_cookie(ui: Ui) -> str:
    value = ui.client.cookies.get(COOKIE, path="/ui")
    assert value, "no session cookie"
    return value


async def test_admin_key_signs_in_with_a_safe_cookie(ui: Ui) -> None:
    response = await ui.login()
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/workspaces"
    morsel = SimpleCookie(response.headers["set-cookie"])[COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "lax"
    assert morsel["path"] == "/ui"
    # The cookie holds only the session's token; the stored session has the key, sealed
    # with the deployment's encryption key.
    assert ADMIN_KEY not in response.headers["set-cookie"]
    signer = Signer(signing_secret(ui.services.ctx.settings))
    session = signer.load_session(session_cookie(ui))
    assert session is not None and session.id is not None and session.key is None
    stored = await ui.services.sessions.find(session.id)
    assert stored is not None and stored.api_key is not None
    assert ADMIN_KEY not in stored.api_key
    assert ui.services.ctx.box.open(stored.api_key) == ADMIN_KEY
    page = await ui.client.get("/ui/workspaces")
    assert page.status_code == 200
    assert "Acme" in page.text and "Globex" in page.text


@pytest.mark.parametrize("role", ["owner", "admin"])
async def test_workspace_owner_and_admin_keys_sign_in_to_their_workspace(ui: Ui, role: str) -> None:
    response = await ui.login(await ui.key("acme", role))
    assert response.headers["location"] == "/ui/w/acme"
    page = await ui.client.get("/ui/w/acme")
    assert page.status_code == 200
    assert "Webhook Endpoints" in page.text
    # No list of every workspace for a workspace key: it goes back to its own.
    listed = await ui.client.get("/ui/workspaces")
    assert listed.status_code == 303 and listed.headers["location"] == "/ui/w/acme"


@pytest.mark.parametrize("role", ["member", "publisher"])
async def test_member_and_publisher_keys_are_refused_with_a_reason(ui: Ui, role: str) -> None:
    response = await ui.login(await ui.key("acme", role))
    assert response.status_code == 403
    assert f"A {role} key cannot sign in to the admin UI" in response.text
    assert "owner or admin keys" in response.text
    assert (await ui.client.get("/ui/w/acme")).status_code == 303


async def test_an_unknown_key_is_refused(ui: Ui) -> None:
    response = await ui.login("hk_nobody_issued_this")
    assert response.status_code == 401
    assert "unknown or has been revoked" in response.text
    empty = await ui.login("")
    assert empty.status_code == 422 and "Enter an API key" in empty.text


async def test_every_page_needs_a_session(ui: Ui) -> None:
    """GETs go to sign-in (and come back after it); POSTs change nothing."""
    wh = (await ui.api("GET", "/v1/workspaces/acme/webhooks"))[0]
    await ui.api("POST", "/v1/workspaces/acme/events", 202, json={"type": "a.b", "data": {}})
    dlv = (await ui.api("GET", f"/v1/webhooks/{wh['id']}/deliveries"))[0]
    ids = {"wsId": "acme", "whId": wh["id"], "dlvId": dlv["id"], "keyId": "key_x", "token": "x"}
    open_paths = {"/ui", "/ui/login", "/ui/logout", "/ui/portal/{token}"}
    app = ui.client._transport.app  # type: ignore[attr-defined]
    # FastAPI >= 0.120 keeps included routers unflattened; iter_route_contexts flattens them.
    flatten = getattr(fastapi.routing, "iter_route_contexts", lambda routes: routes)
    routes = [
        r for r in flatten(app.routes) if str(r.path).startswith("/ui") and r.methods is not None
    ]
    assert len(routes) > 15
    token = await ui.csrf()
    for route in routes:
        if route.path in open_paths:
            continue
        url = route.path.format(**ids)
        for method in route.methods or ():
            if method == "HEAD":
                continue
            data = {"csrf": token, "status": "disabled"} if method == "POST" else None
            response = await ui.client.request(method, url, data=data)
            assert response.status_code == 303, (method, url, response.status_code)
            location = response.headers["location"]
            assert location.startswith("/ui/login"), (method, url, location)
            if method == "GET":
                assert location == f"/ui/login?next={url.replace('/', '%2F')}"
    after = await ui.api("GET", f"/v1/webhooks/{wh['id']}")
    assert after["status"] == "active"
    assert (await ui.api("GET", f"/v1/webhooks/{wh['id']}/deliveries")) == [dlv]


async def test_sign_in_returns_to_the_page_asked_for(ui: Ui) -> None:
    wh = (await ui.api("GET", "/v1/workspaces/acme/webhooks"))[0]
    token = await ui.csrf()
    target = f"/ui/webhooks/{wh['id']}/logs"
    response = await ui.client.post(
        "/ui/login", data={"csrf": token, "key": ADMIN_KEY, "next": target}
    )
    assert response.headers["location"] == target
    # Only UI paths: never another site.
    await ui.client.post("/ui/logout", data={"csrf": await ui.csrf("/ui/workspaces")})
    token = await ui.csrf()
    response = await ui.client.post(
        "/ui/login", data={"csrf": token, "key": ADMIN_KEY, "next": "//evil.example/ui/"}
    )
    assert response.headers["location"] == "/ui/workspaces"


async def test_a_post_without_the_csrf_token_is_refused(ui: Ui) -> None:
    await ui.login()
    wh = (await ui.api("GET", "/v1/workspaces/acme/webhooks"))[0]
    for data in ({"status": "disabled"}, {"status": "disabled", "csrf": "forged"}):
        response = await ui.client.post(f"/ui/webhooks/{wh['id']}/status", data=data)
        assert response.status_code == 403
        assert "CSRF check failed" in response.text
    assert (await ui.api("GET", f"/v1/webhooks/{wh['id']}"))["status"] == "active"
    deleted = await ui.client.post(f"/ui/webhooks/{wh['id']}/delete", data={"csrf": ""})
    assert deleted.status_code == 403
    # The right token works.
    response = await ui.post(f"/ui/webhooks/{wh['id']}/status", {"status": "disabled"})
    assert response.status_code == 303
    assert (await ui.api("GET", f"/v1/webhooks/{wh['id']}"))["status"] == "disabled"


async def test_sign_in_itself_needs_the_csrf_token(ui: Ui) -> None:
    response = await ui.client.post("/ui/login", data={"key": ADMIN_KEY})
    assert response.status_code == 403
    assert COOKIE not in response.headers.get("set-cookie", "") or "key" not in response.text
    assert (await ui.client.get("/ui/workspaces")).status_code == 303


async def test_sign_in_starts_a_new_csrf_token(ui: Ui) -> None:
    before = await ui.csrf()
    await ui.login()
    assert await ui.csrf("/ui/workspaces") != before


async def test_logout_ends_the_session(ui: Ui) -> None:
    await ui.login()
    assert (await ui.client.get("/ui/w/acme")).status_code == 200
    response = await ui.post("/ui/logout", page="/ui/workspaces")
    assert response.status_code == 303 and response.headers["location"] == "/ui/login"
    assert (await ui.client.get("/ui/w/acme")).status_code == 303
    login = await ui.client.get("/ui/login")
    assert "You are signed out." in login.text


async def test_an_expired_or_forged_session_is_no_session(ui: Ui) -> None:
    await ui.login()
    signer = Signer(signing_secret(ui.services.ctx.settings))
    session = signer.load_session(session_cookie(ui))
    assert session is not None
    session.expires = now_ms() - 1
    ui.client.cookies.set(COOKIE, signer.dump_session(session), path="/ui")
    response = await ui.client.get("/ui/w/acme")
    assert response.status_code == 303 and response.headers["location"].startswith("/ui/login")
    # Signed with another deployment's secret: ignored.
    other = Signer(b"another deployment" * 2)
    forged = Session(csrf="x", expires=now_ms() + 60_000, portal="acme", by="admin")
    ui.client.cookies.set(COOKIE, other.dump_session(forged), path="/ui")
    assert (await ui.client.get("/ui/w/acme")).status_code == 303


async def test_revoking_the_key_ends_its_sessions(ui: Ui) -> None:
    key = await ui.key("acme", "owner")
    await ui.login(key)
    assert (await ui.client.get("/ui/w/acme")).status_code == 200
    keys = await ui.api("GET", "/v1/workspaces/acme/api-keys")
    await ui.api("DELETE", f"/v1/api-keys/{keys[0]['id']}")
    ui.services.forget_keys()
    response = await ui.client.get("/ui/w/acme")
    assert response.status_code == 303
    login = await ui.client.get(response.headers["location"])
    assert "Your key no longer works" in login.text


async def test_a_workspace_key_sees_only_its_workspace(ui: Ui) -> None:
    await ui.login(await ui.key("acme", "admin"))
    foreign = (await ui.api("GET", "/v1/workspaces/globex/webhooks"))[0]
    for path in (
        "/ui/w/globex",
        "/ui/w/globex/catalog",
        "/ui/w/globex/webhooks/new",
        f"/ui/webhooks/{foreign['id']}",
        f"/ui/webhooks/{foreign['id']}/logs",
    ):
        response = await ui.client.get(path)
        assert response.status_code == 404, path
        assert "No such" in response.text
    response = await ui.post(
        f"/ui/webhooks/{foreign['id']}/status", {"status": "disabled"}, page="/ui/w/acme"
    )
    assert response.status_code == 404
    assert (await ui.api("GET", f"/v1/webhooks/{foreign['id']}"))["status"] == "active"


async def test_pages_carry_security_headers_and_assets_are_served(ui: Ui) -> None:
    page = await ui.client.get("/ui/login")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    css = await ui.client.get("/ui/static/hookline.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    js = await ui.client.get("/ui/static/hookline.js")
    assert js.status_code == 200 and "data-copy" in js.text
    assert "/ui/static/hookline.css" in page.text
    for asset in ("https://", "http://"):
        assert f'src="{asset}' not in page.text and f'href="{asset}' not in page.text


async def test_ui_routes_are_not_in_the_api_document(ui: Ui) -> None:
    document = (await ui.client.get("/openapi.json")).json()
    assert not [p for p in document["paths"] if p.startswith("/ui")]
    assert "/v1/workspaces/{wId}/portal-link" in document["paths"]


# -- portal links -----------------------------------------------------------------


async def test_portal_link_signs_in_to_one_workspace_only(ui: Ui) -> None:
    link = await ui.api("POST", "/v1/workspaces/acme/portal-link")
    assert link["url"].startswith("http://127.0.0.1:8000/ui/portal/")
    path = link["url"].removeprefix("http://127.0.0.1:8000")
    response = await ui.client.get(path)
    assert response.status_code == 303 and response.headers["location"] == "/ui/w/acme"
    page = await ui.client.get("/ui/w/acme")
    assert page.status_code == 200 and "Portal · Acme" in page.text
    assert "Globex" not in page.text and 'href="/ui/workspaces"' not in page.text
    assert (await ui.client.get("/ui/w/globex")).status_code == 404
    assert (await ui.client.get("/ui/workspaces")).headers["location"] == "/ui/w/acme"
    # The portal session manages the workspace's webhooks, recorded as the portal.
    wh = (await ui.api("GET", "/v1/workspaces/acme/webhooks"))[0]
    await ui.post(f"/ui/webhooks/{wh['id']}/status", {"status": "paused"}, page="/ui/w/acme")
    changed = await ui.api("GET", f"/v1/webhooks/{wh['id']}")
    assert changed["status"] == "paused" and changed["statusChangedBy"] == "portal:admin"


async def test_portal_link_expiry_and_who_may_ask(ui: Ui) -> None:
    short = await ui.api("POST", "/v1/workspaces/acme/portal-link", json={"expiresIn": 60})
    assert short["expiresAt"] > ""
    too_long = await ui.client.post(
        "/v1/workspaces/acme/portal-link",
        json={"expiresIn": 86401},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert too_long.status_code == 422
    for role, status in (("owner", 200), ("admin", 200), ("member", 403), ("publisher", 403)):
        key = await ui.key("acme", role)
        response = await ui.client.post(
            "/v1/workspaces/acme/portal-link", headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == status, (role, response.text)
    foreign = await ui.key("globex", "owner")
    response = await ui.client.post(
        "/v1/workspaces/acme/portal-link", headers={"Authorization": f"Bearer {foreign}"}
    )
    assert response.status_code == 404


async def test_an_expired_or_altered_portal_link_is_refused(ui: Ui) -> None:
    tokens = PortalTokens(signing_secret(ui.services.ctx.settings))
    expired = tokens.dump("acme", "admin", now_ms() - 1)
    valid = tokens.dump("acme", "admin", now_ms() + 60_000)
    for token in (
        expired,
        valid[:-2] + "xx",
        PortalTokens(b"elsewhere" * 4).dump("acme", "admin", now_ms() + 60_000),
    ):
        response = await ui.client.get(f"/ui/portal/{token}")
        assert response.status_code == 403
        assert "invalid or has expired" in response.text
        assert (await ui.client.get("/ui/w/acme")).status_code == 303
    gone = tokens.dump("deleted-ws", "admin", now_ms() + 60_000)
    assert (await ui.client.get(f"/ui/portal/{gone}")).status_code == 404
    assert (await ui.client.get("/ui/w/acme")).status_code == 303
