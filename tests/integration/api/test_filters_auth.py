"""A webhook's payload filter and endpoint authentication through the API: checked on save
(422 naming where), applied at fan-out, credentials never shown nor stored in clear."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from support.app import Api, assert_error, create_hook

BIG_DE = {"and": [{"path": "$.total", "gte": 100}, {"path": "$.country", "in": ["DE", "AT"]}]}


async def test_a_filtered_out_event_creates_no_delivery(api: Api, ws: str) -> None:
    filtered = await api.webhook(ws, filter=BIG_DE)
    everything = await api.webhook(ws)
    assert filtered["filter"] == BIG_DE and everything["filter"] is None

    small = await api.event(ws, "order.paid", {"total": 5, "country": "DE"})
    big = await api.event(ws, "order.paid", {"total": 500, "country": "AT"})
    assert (small["deliveries"], big["deliveries"]) == (1, 2)
    hooks_of = {
        e["id"]: {
            d["webhookId"] for d in (await api.ok("GET", f"/v1/events/{e['id']}"))["deliveries"]
        }
        for e in (small, big)
    }
    assert hooks_of == {
        small["id"]: {everything["id"]},
        big["id"]: {everything["id"], filtered["id"]},
    }

    # Cleared: every subscribed event again.
    cleared = await api.ok("PATCH", f"/v1/webhooks/{filtered['id']}", json={"filter": None})
    assert cleared["filter"] is None
    assert (await api.event(ws, "order.paid", {"total": 5}))["deliveries"] == 2


async def test_an_invalid_filter_is_422_with_where(api: Api, ws: str) -> None:
    bad = {"and": [{"path": "$.total", "gte": 100}, {"path": "$.lines[*].sku", "eq": "x"}]}
    error = assert_error(await create_hook(api, ws, filter=bad), 422, "invalid_filter")
    assert error["details"][0]["path"] == "$.and[1].path"
    assert "$.and[1].path" in error["message"]
    hook = await api.webhook(ws)
    response = await api.patch(f"/v1/webhooks/{hook['id']}", json={"filter": {"path": "$.a"}})
    assert assert_error(response, 422, "invalid_filter")["details"][0]["path"] == "$"


def mtls_pair() -> tuple[str, str]:
    leaf = trustme.CA().issue_cert("client.example")
    return leaf.cert_chain_pems[0].bytes().decode(), leaf.private_key_pem.bytes().decode()


async def test_credentials_are_never_shown_nor_stored_in_clear(
    api: Api, ws: str, tmp_path: Path
) -> None:
    cert, key = mtls_pair()
    kinds: list[tuple[dict[str, Any], dict[str, Any], list[str]]] = [
        (
            {"type": "basic", "username": "hook-user", "password": "pw-7f3a9c"},
            {"type": "basic", "username": "hook-user"},
            ["pw-7f3a9c"],
        ),
        ({"type": "bearer", "token": "tok-55e1b2"}, {"type": "bearer"}, ["tok-55e1b2"]),
        (
            {
                "type": "oauth2",
                "tokenUrl": "https://id.example.com/oauth/token",
                "clientId": "hookline",
                "clientSecret": "cs-91d0ef",
                "scope": "webhooks:write",
            },
            {
                "type": "oauth2",
                "tokenUrl": "https://id.example.com/oauth/token",
                "clientId": "hookline",
                "scope": "webhooks:write",
                "clientAuth": "basic",
            },
            ["cs-91d0ef"],
        ),
        ({"type": "mtls", "certificate": cert, "key": key}, {}, [key.splitlines()[1]]),
    ]
    for auth, shown, secrets in kinds:
        created = await api.webhook(ws, auth=auth)
        fetched = await api.ok("GET", f"/v1/webhooks/{created['id']}")
        listed = await api.ok("GET", f"/v1/workspaces/{ws}/webhooks")
        if shown:
            assert created["auth"] == fetched["auth"] == shown
        else:
            assert fetched["auth"]["type"] == "mtls"
            assert fetched["auth"]["certificate"]["subject"]
        for text in (str(created), str(fetched), str(listed)):
            assert not any(s in text for s in secrets)
    stored = b"".join(p.read_bytes() for p in api.settings.data_dir.rglob("*") if p.is_file())
    for _, _, secrets in kinds:
        assert not any(s.encode() in stored for s in secrets)


async def test_auth_is_replaced_whole_and_cleared_by_null(api: Api, ws: str) -> None:
    hook = await api.webhook(ws, auth={"type": "bearer", "token": "first"})
    path = f"/v1/webhooks/{hook['id']}"
    changed = await api.ok(
        "PATCH", path, json={"auth": {"type": "basic", "username": "u", "password": "p"}}
    )
    assert changed["auth"] == {"type": "basic", "username": "u"}
    assert (await api.ok("PATCH", path, json={"name": "renamed"}))["auth"]["type"] == "basic"
    assert (await api.ok("PATCH", path, json={"auth": None}))["auth"] is None


async def test_a_bad_auth_is_422_naming_the_field(api: Api, ws: str) -> None:
    cases = [
        ({"type": "basic", "username": "u"}, "auth.password"),
        ({"type": "kerberos"}, "auth.type"),
        (
            {"type": "oauth2", "tokenUrl": "ftp://id/t", "clientId": "c", "clientSecret": "s"},
            "auth.tokenUrl",
        ),
        ({"type": "mtls", "certificate": mtls_pair()[0], "key": mtls_pair()[1]}, "auth.key"),
    ]
    for auth, field in cases:
        error = assert_error(await create_hook(api, ws, auth=auth), 422, "invalid_auth")
        assert error["details"][0]["field"] == field, error


async def test_auth_and_a_destination_never_go_together_whatever_the_order(
    api: Api, ws: str
) -> None:
    redis = {"type": "redis", "url": "redis://redis.example.com/0", "stream": "hooks"}
    with_auth = await api.webhook(ws, auth={"type": "basic", "username": "u", "password": "p"})
    response = await api.patch(f"/v1/webhooks/{with_auth['id']}", json={"destination": redis})
    assert assert_error(response, 422, "invalid_auth")["details"][0]["field"] == "auth"
    # Removing the auth in the same change is allowed.
    moved = await api.ok(
        "PATCH", f"/v1/webhooks/{with_auth['id']}", json={"destination": redis, "auth": None}
    )
    assert moved["auth"] is None and moved["destination"]["type"] == "redis"
    response = await api.patch(
        f"/v1/webhooks/{moved['id']}", json={"auth": {"type": "bearer", "token": "t"}}
    )
    assert_error(response, 422, "invalid_auth")


async def test_inputs_that_would_break_later_are_refused_now(api: Api, ws: str) -> None:
    deep: dict[str, Any] = {"path": "$.a", "eq": 1}
    for _ in range(100):
        deep = {"not": deep}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"filter": deep}, "invalid_filter"),
        ({"auth": {"type": "bearer", "token": "tök"}}, "invalid_auth"),
        ({"auth": {"type": "mtls", "certificate": SMALL[0], "key": SMALL[1]}}, "invalid_auth"),
        (
            {"destination": {"type": "redis", "url": "redis://r.example.com/²", "stream": "s"}},
            "invalid_destination",
        ),
        (
            {"destination": {"type": "sns", "topicArn": TOPIC, "region": "eu-west-1"}},
            "invalid_destination",
        ),
    ]
    for fields, code in cases:
        assert_error(await create_hook(api, ws, **fields), 422, code)
    # JSON that Python reads but could not write back: a number read as infinite, a lone
    # surrogate (which no header can carry).
    for raw, code in (
        ('"filter": {"path": "$.a", "lt": 1e999}', "invalid_filter"),
        ('"auth": {"type": "basic", "username": "u\\ud800", "password": "p"}', "invalid_auth"),
    ):
        body = '{"url": "https://example.com/h", "events": ["*"], ' + raw + "}"
        response = await api.post(
            f"/v1/workspaces/{ws}/webhooks",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert_error(response, 422, code)


async def test_the_deployments_aws_credentials_only_when_it_lends_them(make_api: Any) -> None:
    api = await make_api(aws_default_credentials=True)
    ws = (await api.workspace())["id"]
    hook = await api.webhook(
        ws, destination={"type": "sns", "topicArn": TOPIC, "region": "eu-west-1"}
    )
    assert hook["destination"]["topicArn"] == TOPIC


TOPIC = "arn:aws:sns:eu-west-1:123456789012:hooks"


def small_pair() -> tuple[str, str]:
    """A self-signed 1024-bit RSA certificate: valid X.509, refused by TLS as too weak."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "small")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_key.decode()


SMALL = small_pair()
