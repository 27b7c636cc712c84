"""``hookline.verify`` refuses, for every scheme, what a receiver must refuse, and says why:
a tampered body, the wrong secret or key, a timestamp more than 300 s away, a missing header.

Deliveries are signed here with ``hookline.signing`` (sans I/O), as the dispatcher signs them.
"""

from __future__ import annotations

import re

import pytest

from hookline.dispatch.prepare import target_uri
from hookline.signing import SigningKeys, generate_keypair, public_key_of, signature_headers
from hookline.verify import VerificationError, verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_" + "B" * 32
SEED, PUBLIC = generate_keypair()
_, OTHER_PUBLIC = generate_keypair()
TS = 1_767_225_600
BRAND = "Acme"
URL = "https://hooks.example.com/in?tenant=7"
BODY = '{"id":"evt_1","type":"user.created","timestamp":"2026-01-01T00:00:00.000Z","data":{"name":"Zoë"}}'.encode()
SIGNED = ("standard", "ed25519", "hmac-sha256", "hmac-sha256-body", "rfc9421")

# What each scheme says when the signature does not match.
MISMATCH = {
    "standard": "no signature matches the secret",
    "ed25519": "no v1a signature matches the public key",
    "hmac-sha256": "the signature does not match the secret",
    "hmac-sha256-body": "the signature does not match the secret",
    "rfc9421": "no signature matches the secret",
}
# The headers each scheme needs, and what it says when one is missing.
REQUIRED = {
    "standard": {
        h: f"missing header {h}" for h in ("webhook-id", "webhook-timestamp", "webhook-signature")
    },
    "hmac-sha256": {h: f"missing header {h}" for h in ("X-Acme-Signature-256", "X-Acme-Timestamp")},
    "hmac-sha256-body": {
        h: f"missing header {h}" for h in ("X-Acme-Hmac-Sha256", "X-Acme-Timestamp")
    },
    "rfc9421": {
        **{h: f"missing header {h}" for h in ("Signature", "Signature-Input", "Content-Digest")},
        "Content-Type": "the signed header content-type is missing",
    },
}
REQUIRED["ed25519"] = REQUIRED["standard"]


def exactly(message: str) -> str:
    """A ``match=`` pattern for exactly ``message``."""
    return f"^{re.escape(message)}$"


def delivery(scheme: str, *, timestamp: int = TS) -> dict[str, str]:
    """The headers Hookline sends for ``BODY`` with ``scheme``."""
    headers = {
        "Content-Type": "application/json",
        f"X-{BRAND}-Timestamp": str(timestamp),
        f"X-{BRAND}-Delivery": "evt_1",
    }
    keys = SigningKeys(key_id="wh_1", secrets=(SECRET,), ed25519_seeds=(SEED,))
    headers |= signature_headers(
        scheme, keys, msg_id="evt_1", timestamp=timestamp, body=BODY, brand=BRAND, url=URL
    )
    return headers


def check(
    scheme: str,
    headers: dict[str, str],
    body: bytes = BODY,
    *,
    secret: str = SECRET,
    public_key: str = PUBLIC,
    now: float = TS,
) -> None:
    verify(
        scheme,
        headers,
        body,
        secret=secret,
        public_key=public_key,
        brand=BRAND,
        url=URL,
        now=now,
    )


@pytest.mark.parametrize("scheme", SIGNED)
def test_a_good_delivery_passes(scheme: str) -> None:
    assert public_key_of(SEED) == PUBLIC
    check(scheme, delivery(scheme))
    check(scheme, {k.lower(): v for k, v in delivery(scheme).items()})
    check(scheme, delivery(scheme), now=TS + 300)
    check(scheme, delivery(scheme), now=TS - 300)


@pytest.mark.parametrize("scheme", SIGNED)
@pytest.mark.parametrize(
    "body",
    [
        BODY.replace(b"Zo\xc3\xab", b"Zoe"),
        BODY + b"\n",
        BODY.replace(b",", b", ", 1),
        b"",
    ],
    ids=["edited", "trailing-newline", "reformatted", "empty"],
)
def test_a_tampered_body_is_refused(scheme: str, body: bytes) -> None:
    reason = "Content-Digest does not match the body" if scheme == "rfc9421" else MISMATCH[scheme]
    with pytest.raises(VerificationError, match=exactly(reason)):
        check(scheme, delivery(scheme), body)


@pytest.mark.parametrize("scheme", SIGNED)
def test_the_wrong_secret_is_refused(scheme: str) -> None:
    with pytest.raises(VerificationError, match=exactly(MISMATCH[scheme])):
        check(scheme, delivery(scheme), secret=OTHER_SECRET, public_key=OTHER_PUBLIC)


@pytest.mark.parametrize("scheme", SIGNED)
@pytest.mark.parametrize("offset", [301, -301, 3600], ids=["stale", "future", "hour-old"])
def test_a_timestamp_outside_five_minutes_is_refused(scheme: str, offset: int) -> None:
    with pytest.raises(
        VerificationError, match=exactly("the timestamp is more than 300 s away from now")
    ):
        check(scheme, delivery(scheme), now=TS + offset)


@pytest.mark.parametrize(
    ("scheme", "header"),
    [(scheme, header) for scheme in SIGNED for header in REQUIRED[scheme]],
)
def test_a_missing_header_is_refused(scheme: str, header: str) -> None:
    headers = {k: v for k, v in delivery(scheme).items() if k != header}
    with pytest.raises(VerificationError, match=exactly(REQUIRED[scheme][header])):
        check(scheme, headers)
    if header != "Content-Type":  # an empty Content-Type is a value, signed as such
        with pytest.raises(VerificationError, match=exactly(REQUIRED[scheme][header])):
            check(scheme, {**headers, header: ""})


@pytest.mark.parametrize(
    ("scheme", "reason"),
    [
        ("standard", "standard needs the webhook's secret"),
        ("hmac-sha256", "hmac-sha256 needs the webhook's secret"),
        ("hmac-sha256-body", "hmac-sha256-body needs the webhook's secret"),
        ("rfc9421", "rfc9421 needs the webhook's secret"),
        ("ed25519", "ed25519 needs the webhook's public key (whpk_…)"),
        ("sha1", "unknown signature scheme 'sha1'"),
    ],
)
def test_a_receiver_without_its_key_is_told_so(scheme: str, reason: str) -> None:
    with pytest.raises(VerificationError, match=exactly(reason)):
        verify(scheme, delivery("standard"), BODY, brand=BRAND, url=URL, now=TS)


def test_rfc9421_is_bound_to_the_method_and_url() -> None:
    headers = delivery("rfc9421")
    # The same URL spelled differently is the same target.
    verify(
        "rfc9421",
        headers,
        BODY,
        secret=SECRET,
        url=URL.replace("https://hooks", "HTTPS://HOOKS").replace(".com/", ".com:443/"),
        now=TS,
    )
    for method, url in [
        ("PUT", URL),
        ("POST", URL.replace("tenant=7", "tenant=8")),
        ("POST", URL.replace("/in", "/other")),
    ]:
        with pytest.raises(VerificationError, match=exactly("no signature matches the secret")):
            verify("rfc9421", headers, BODY, secret=SECRET, method=method, url=url, now=TS)
    with pytest.raises(VerificationError, match=exactly("rfc9421 needs the request's full URL")):
        verify("rfc9421", headers, BODY, secret=SECRET, now=TS)


def test_none_checks_nothing() -> None:
    """``none`` is the Discko scheme: there is nothing to verify, so nothing is refused."""
    assert verify("none", {}, b"anything") is None


@pytest.mark.parametrize(
    ("registered", "received"),
    [
        ("https://Hooks.Example.com", "https://hooks.example.com/"),
        ("https://hooks.example.com:443/in#top", "https://hooks.example.com/in"),
        ("HTTP://[::1]:8080/in?a=1", "http://[::1]:8080/in?a=1"),
        ("https://bücher.example/in?q=é", "https://xn--bcher-kva.example/in?q=%C3%A9"),
    ],
)
def test_rfc9421_signs_the_url_as_sent(registered: str, received: str) -> None:
    """The dispatcher signs ``@target-uri`` as the request goes out, so the URL a receiver
    rebuilds from its request line and ``Host`` header verifies."""
    assert target_uri(registered) == received
    headers = signature_headers(
        "rfc9421",
        SigningKeys(key_id="wh_1", secrets=(SECRET,)),
        msg_id="evt_1",
        timestamp=TS,
        body=BODY,
        brand=BRAND,
        url=target_uri(registered),
    )
    headers["Content-Type"] = "application/json"
    verify("rfc9421", headers, BODY, secret=SECRET, url=received, now=TS)
