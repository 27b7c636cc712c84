"""Stored endpoint credentials go only where they were given for: a PATCH that moves the
webhook to another origin, or its OAuth2 token to another token URL, without sending the
secret again is 422 ``auth_required`` and changes nothing; a secret left out for the same
place is kept. (What reaches which host is tested end to end in the acceptance tier.)"""

from __future__ import annotations

from typing import Any

import pytest
import trustme
from support.app import HOOK, Api, assert_error

SECRET = {"basic": "password", "bearer": "token", "oauth2": "clientSecret", "mtls": "key"}
OAUTH2 = {
    "type": "oauth2",
    "tokenUrl": "https://id.example.com/oauth/token",
    "clientId": "hookline",
    "clientSecret": "cs-5e0a",
}


def every_kind() -> list[Any]:
    leaf = trustme.CA().issue_cert("client.example")
    cert, key = leaf.cert_chain_pems[0].bytes().decode(), leaf.private_key_pem.bytes().decode()
    return [
        pytest.param({"type": "basic", "username": "u", "password": "pw-5e0a"}, id="basic"),
        pytest.param({"type": "bearer", "token": "tok-5e0a"}, id="bearer"),
        pytest.param(OAUTH2, id="oauth2"),
        pytest.param({"type": "mtls", "certificate": cert, "key": key}, id="mtls"),
    ]


async def stored_auth(api: Api, wh_id: str) -> Any:
    wh = await api.store.get_webhook(wh_id)
    assert wh is not None
    return None if wh.auth is None else wh.auth.to_json()


@pytest.mark.parametrize("auth", every_kind())
async def test_another_origin_needs_the_credentials_sent_again(
    api: Api, ws: str, auth: dict[str, str]
) -> None:
    hook = await api.webhook(ws, auth=auth)
    path = f"/v1/webhooks/{hook['id']}"
    for url, origin in (
        ("https://other.example.com/hook", "https://other.example.com"),
        ("https://example.com:8443/hook", "https://example.com:8443"),
        ("https://SUB.example.com/hook", "https://sub.example.com"),
    ):
        error = assert_error(await api.patch(path, json={"url": url}), 422, "auth_required")
        why = f"The URL's origin changed (https://example.com to {origin})"
        send = f'send auth again with its {SECRET[auth["type"]]} (or "auth": null)'
        assert error["message"] == (
            f"{why}: {send}; stored credentials go only where they were given for."
        )
        assert error["details"] == [{"field": "auth", "message": f"{why}: {send}"}]
        assert (await api.ok("GET", path))["url"] == HOOK
    assert await stored_auth(api, hook["id"]) == auth
    # The same origin keeps them; sent again, or removed, they may go anywhere.
    same = await api.ok("PATCH", path, json={"url": "https://example.com/v2?x=1"})
    assert same["auth"]["type"] == auth["type"]
    assert await stored_auth(api, hook["id"]) == auth
    moved = await api.ok("PATCH", path, json={"url": "https://other.example.com/h", "auth": auth})
    assert moved["url"] == "https://other.example.com/h"
    cleared = await api.ok("PATCH", path, json={"url": "https://third.example.com/h", "auth": None})
    assert cleared["auth"] is None


@pytest.mark.parametrize("auth", every_kind())
async def test_a_secret_left_out_is_kept_for_the_same_place_only(
    api: Api, ws: str, auth: dict[str, str]
) -> None:
    hook = await api.webhook(ws, auth=auth)
    path = f"/v1/webhooks/{hook['id']}"
    secret = SECRET[auth["type"]]
    left_out = {k: v for k, v in auth.items() if k != secret}
    await api.ok("PATCH", path, json={"auth": left_out})
    assert await stored_auth(api, hook["id"]) == auth
    response = await api.patch(path, json={"url": "https://other.example.com/h", "auth": left_out})
    error = assert_error(response, 422, "auth_required")
    assert error["details"][0]["field"] == f"auth.{secret}"
    assert (await api.ok("GET", path))["url"] == HOOK


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"tokenUrl": "https://id.example.com/other/token"}, "auth.tokenUrl changed"),
        ({"tokenUrl": "https://evil.example.net/token"}, "auth.tokenUrl changed"),
        ({"clientId": "someone-else"}, "auth.clientId changed"),
    ],
)
async def test_a_client_secret_goes_to_no_other_token_url_or_client(
    api: Api, ws: str, change: dict[str, str], named: str
) -> None:
    hook = await api.webhook(ws, auth=OAUTH2)
    left_out = {k: v for k, v in OAUTH2.items() if k != "clientSecret"}
    response = await api.patch(f"/v1/webhooks/{hook['id']}", json={"auth": left_out | change})
    error = assert_error(response, 422, "auth_required")
    assert error["details"][0]["field"] == "auth.clientSecret"
    assert error["message"].startswith(named)
    assert await stored_auth(api, hook["id"]) == OAUTH2
    # With the secret, the change is taken.
    await api.ok("PATCH", f"/v1/webhooks/{hook['id']}", json={"auth": OAUTH2 | change})


async def test_a_password_goes_with_no_other_username_and_no_other_kind(api: Api, ws: str) -> None:
    hook = await api.webhook(ws, auth={"type": "basic", "username": "u", "password": "pw"})
    path = f"/v1/webhooks/{hook['id']}"
    renamed = {"type": "basic", "username": "v"}
    error = assert_error(await api.patch(path, json={"auth": renamed}), 422, "auth_required")
    assert error["details"][0]["field"] == "auth.password"
    # Another kind takes nothing stored: its own secret is simply missing.
    error = assert_error(await api.patch(path, json={"auth": {"type": "bearer"}}), 422)
    assert (error["code"], error["details"][0]["field"]) == ("invalid_auth", "auth.token")
