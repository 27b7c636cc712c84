"""Endpoint authentication settings: checked on save, shown without their secrets."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
import trustme

from hookline.domain import endpoint_auth
from hookline.errors import Invalid


def accept(url: str) -> str:
    return url


def check(value: Any, *, check_url: Callable[[str], str]) -> endpoint_auth.EndpointAuth | None:
    auth = endpoint_auth.parse(value)
    return None if auth is None else endpoint_auth.checked(auth, check_url)


def authorization(auth: endpoint_auth.EndpointAuth | None) -> str | None:
    return None if auth is None else auth.authorization()


def public(auth: endpoint_auth.EndpointAuth | None) -> dict[str, Any] | None:
    return None if auth is None else auth.public()


def refuse(url: str) -> str:
    raise Invalid("The URL points at localhost.", code="url_not_allowed")


@pytest.fixture(scope="module")
def pair() -> tuple[str, str]:
    leaf = trustme.CA().issue_cert("client.example")
    return leaf.cert_chain_pems[0].bytes().decode(), leaf.private_key_pem.bytes().decode()


def test_basic_and_bearer_become_an_authorization_header() -> None:
    basic = check({"type": "basic", "username": "hook", "password": "p:w"}, check_url=accept)
    assert authorization(basic) == "Basic " + base64.b64encode(b"hook:p:w").decode()
    assert public(basic) == {"type": "basic", "username": "hook"}
    bearer = check({"type": "bearer", "token": "t0k"}, check_url=accept)
    assert authorization(bearer) == "Bearer t0k"
    assert public(bearer) == {"type": "bearer"}
    assert authorization(None) is None


def test_oauth2_shows_all_but_the_client_secret() -> None:
    auth = check(
        {
            "type": "oauth2",
            "tokenUrl": "https://id.example/token",
            "clientId": "c",
            "clientSecret": "s",
        },
        check_url=lambda u: u + "#checked",
    )
    assert isinstance(auth, endpoint_auth.OAuth2)
    assert auth.token_url == "https://id.example/token#checked"
    assert authorization(auth) is None  # a token the dispatcher fetches
    assert public(auth) == {
        "type": "oauth2",
        "tokenUrl": "https://id.example/token#checked",
        "clientId": "c",
        "scope": None,
        "clientAuth": "basic",
    }


def test_mtls_shows_the_certificate_not_the_key(pair: tuple[str, str]) -> None:
    cert, key = pair
    auth = check({"type": "mtls", "certificate": cert, "key": key}, check_url=accept)
    shown = public(auth)
    assert shown is not None and shown["type"] == "mtls"
    assert set(shown["certificate"]) == {"subject", "issuer", "notAfter", "sha256"}
    assert "BEGIN" not in str(shown)


@pytest.mark.parametrize(
    ("auth", "field"),
    [
        ("basic", "auth.type"),
        ({"type": "digest"}, "auth.type"),
        ({"type": "basic", "username": "u"}, "auth.password"),
        ({"type": "basic", "username": "a:b", "password": "p"}, "auth.username"),
        ({"type": "basic", "username": "u", "password": "p", "realm": "x"}, "auth.realm"),
        ({"type": "bearer", "token": ""}, "auth.token"),
        ({"type": "bearer", "token": "a\r\nX-Evil: 1"}, "auth.token"),
        ({"type": "bearer", "token": 5}, "auth.token"),
        ({"type": "oauth2", "tokenUrl": "https://i/t", "clientId": "c"}, "auth.clientSecret"),
        (
            {
                "type": "oauth2",
                "tokenUrl": "https://i/t",
                "clientId": "c",
                "clientSecret": "s",
                "clientAuth": "jwt",
            },
            "auth.clientAuth",
        ),
        ({"type": "mtls", "certificate": "nope", "key": "nope"}, "auth.certificate"),
    ],
)
def test_a_bad_auth_names_its_field(auth: Any, field: str) -> None:
    with pytest.raises(Invalid) as raised:
        check(auth, check_url=accept)
    assert raised.value.error_code == "invalid_auth"
    assert raised.value.details is not None and raised.value.details[0]["field"] == field


def test_the_token_url_obeys_the_destination_rules() -> None:
    with pytest.raises(Invalid) as raised:
        check(
            {
                "type": "oauth2",
                "tokenUrl": "https://localhost/t",
                "clientId": "c",
                "clientSecret": "s",
            },
            check_url=refuse,
        )
    assert raised.value.details == [
        {"field": "auth.tokenUrl", "message": "The URL points at localhost"}
    ]


def test_a_key_of_another_certificate_is_refused(pair: tuple[str, str]) -> None:
    cert, _ = pair
    other_key = trustme.CA().issue_cert("other.example").private_key_pem.bytes().decode()
    with pytest.raises(Invalid, match="not the certificate's private key"):
        check({"type": "mtls", "certificate": cert, "key": other_key}, check_url=accept)
    with pytest.raises(Invalid, match="not an unencrypted PEM private key"):
        check({"type": "mtls", "certificate": cert, "key": cert}, check_url=accept)


def test_a_secret_left_out_is_taken_from_the_stored_auth_of_the_same_kind() -> None:
    stored = endpoint_auth.load({"type": "basic", "username": "hook", "password": "pw"})
    left_out = endpoint_auth.parse_change({"type": "basic", "username": "other"})
    assert isinstance(left_out, endpoint_auth.SecretLeftOut)
    assert left_out.with_secret(stored) == endpoint_auth.load(
        {"type": "basic", "username": "other", "password": "pw"}
    )
    given = {"type": "basic", "username": "hook", "password": "new"}
    assert endpoint_auth.parse_change(given) == endpoint_auth.load(given)
    bearer = endpoint_auth.load({"type": "bearer", "token": "t0ken"})
    for other in (bearer, None):
        with pytest.raises(Invalid, match="basic auth needs password"):
            left_out.with_secret(other)
    for malformed in ("basic", {"username": "hook"}):
        with pytest.raises(Invalid, match="auth is an object whose type is one of"):
            endpoint_auth.parse_change(malformed)


def test_a_certificate_left_without_its_key_is_checked_against_the_stored_key(
    pair: tuple[str, str],
) -> None:
    cert, key = pair
    stored = endpoint_auth.load({"type": "mtls", "certificate": cert, "key": key})
    other = trustme.CA().issue_cert("other.example").cert_chain_pems[0].bytes().decode()
    kept = endpoint_auth.parse_change({"type": "mtls", "certificate": cert})
    assert isinstance(kept, endpoint_auth.SecretLeftOut)
    assert kept.with_secret(stored) == stored
    moved = endpoint_auth.parse_change({"type": "mtls", "certificate": other})
    assert isinstance(moved, endpoint_auth.SecretLeftOut)
    with pytest.raises(Invalid, match="not the certificate's private key"):
        moved.with_secret(stored)


OAUTH2 = {
    "type": "oauth2",
    "tokenUrl": "https://id.example/t",
    "clientId": "c",
    "clientSecret": "s",
}


@pytest.mark.parametrize(
    ("new_url", "new_auth", "why"),
    [
        ("https://hooks.example/other/path?x=1", OAUTH2, None),
        ("https://HOOKS.example:443/a", OAUTH2, None),
        ("https://hooks.example:8443/a", OAUTH2, "origin changed"),
        ("http://hooks.example/a", OAUTH2, "origin changed"),
        ("https://hooks.example.evil/a", OAUTH2, "origin changed"),
        ("https://hooks.example/a", {**OAUTH2, "tokenUrl": "https://id.example/t2"}, "tokenUrl"),
        ("https://hooks.example/a", {**OAUTH2, "clientId": "d"}, "clientId"),
    ],
)
def test_a_secret_goes_along_only_to_the_same_place(
    new_url: str, new_auth: dict[str, str], why: str | None
) -> None:
    said = endpoint_auth.moved(
        "https://hooks.example/a",
        endpoint_auth.load(OAUTH2),
        new_url,
        endpoint_auth.load(new_auth),
    )
    assert said is None if why is None else why in (said or "")


def test_each_kind_is_stored_as_it_was_given(pair: tuple[str, str]) -> None:
    cert, key = pair
    for given in (
        {"type": "basic", "username": "hook", "password": "pw"},
        {"type": "bearer", "token": "t0k"},
        {**OAUTH2, "scope": "hooks:write", "clientAuth": "post"},
        {"type": "mtls", "certificate": cert, "key": key},
    ):
        auth = check(given, check_url=accept)
        assert auth is not None and auth.to_json() == given
        assert endpoint_auth.load(auth.to_json()) == auth
        assert repr(auth.secret) not in repr(auth)
