from __future__ import annotations

import base64
import subprocess
import sys

import pytest

from hookline.verify import (
    MalformedDelivery,
    VerificationError,
    check_timestamp,
    secret_bytes,
    standard_signature,
    verify,
    verify_standard,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
HEADERS = {
    "webhook-id": MSG_ID,
    "webhook-timestamp": str(TIMESTAMP),
    "webhook-signature": SIGNATURE,
}


def test_the_vector_signature() -> None:
    assert standard_signature(secret_bytes(SECRET), MSG_ID, TIMESTAMP, BODY) == SIGNATURE


def test_accepts_a_good_delivery() -> None:
    verify_standard(SECRET, HEADERS, BODY, now=TIMESTAMP)


def test_header_names_are_case_insensitive() -> None:
    headers = {k.title(): v for k, v in HEADERS.items()}
    assert "Webhook-Signature" in headers
    verify_standard(SECRET, headers, BODY, now=TIMESTAMP)


def test_any_one_matching_signature_is_enough() -> None:
    other = "v1," + "A" * 44
    headers = {**HEADERS, "webhook-signature": f"v1a,xyz {other} {SIGNATURE}"}
    verify_standard(SECRET, headers, BODY, now=TIMESTAMP)


@pytest.mark.parametrize(
    ("secret", "headers", "body"),
    [
        (SECRET, HEADERS, b'{"test": 2432232315}'),
        (SECRET, HEADERS, BODY + b"\n"),
        ("whsec_" + "B" * 32, HEADERS, BODY),
        (SECRET, {**HEADERS, "webhook-id": "msg_other"}, BODY),
        (SECRET, {**HEADERS, "webhook-signature": SIGNATURE[:-2] + "A="}, BODY),
        (SECRET, {**HEADERS, "webhook-signature": f"v2,{SIGNATURE[3:]} {SIGNATURE[:-2]}A="}, BODY),
    ],
    ids=["tampered", "trailing-newline", "wrong-secret", "other-id", "altered", "v2-beside"],
)
def test_rejects_what_does_not_match(secret: str, headers: dict[str, str], body: bytes) -> None:
    with pytest.raises(VerificationError, match="no signature matches") as raised:
        verify_standard(secret, headers, body, now=TIMESTAMP)
    assert not isinstance(raised.value, MalformedDelivery)


@pytest.mark.parametrize(
    ("signature", "why"),
    [
        ("this-is-not-a-valid-signature-token", "not a list of version,base64 signatures"),
        (SIGNATURE.removeprefix("v1,"), "not a list of version,base64 signatures"),
        ("v1,@@not-base64@@", "not a list of version,base64 signatures"),
        (SIGNATURE.replace("v1,", "v2,"), "carries only v2 signatures; this verifier reads v1"),
        (f"v1a,{SIGNATURE[3:]} v3,{SIGNATURE[3:]}", "carries only v1a, v3 signatures"),
    ],
    ids=["token", "bare", "not-base64", "v2", "v1a-v3"],
)
def test_a_signature_header_it_cannot_read_is_malformed(signature: str, why: str) -> None:
    headers = {**HEADERS, "webhook-signature": signature}
    with pytest.raises(MalformedDelivery, match=why):
        verify_standard(SECRET, headers, BODY, now=TIMESTAMP)


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamps_within_five_minutes_pass(offset: int) -> None:
    verify_standard(SECRET, HEADERS, BODY, now=TIMESTAMP + offset)


@pytest.mark.parametrize("offset", [-301, 301, 86_400, -86_400])
def test_stale_or_future_timestamps_fail(offset: int) -> None:
    # now = ts + 301: the delivery is stale; now = ts - 301: it claims to come from the future.
    with pytest.raises(VerificationError, match="300 s away"):
        verify_standard(SECRET, HEADERS, BODY, now=TIMESTAMP + offset)


def test_tolerance_is_configurable() -> None:
    verify_standard(SECRET, HEADERS, BODY, now=TIMESTAMP + 1000, tolerance=1000)
    with pytest.raises(VerificationError):
        verify_standard(SECRET, HEADERS, BODY, now=TIMESTAMP + 11, tolerance=10)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_fail(missing: str) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != missing}
    with pytest.raises(VerificationError, match="missing"):
        verify_standard(SECRET, headers, BODY, now=TIMESTAMP)
    with pytest.raises(VerificationError, match="missing"):
        verify_standard(SECRET, {**HEADERS, missing: ""}, BODY, now=TIMESTAMP)


@pytest.mark.parametrize("value", ["abc", "1614265330.5", ""])
def test_a_malformed_timestamp_fails(value: str) -> None:
    with pytest.raises(VerificationError):
        check_timestamp(value, now=TIMESTAMP)


def test_check_timestamp_returns_the_seconds() -> None:
    assert check_timestamp("1614265330", now=TIMESTAMP) == TIMESTAMP


def test_secret_forms() -> None:
    assert secret_bytes("whsec_aGVsbG8=") == b"hello"
    assert secret_bytes("whsec_aGVsbG8") == b"hello"  # unpadded, as the libraries accept
    assert secret_bytes("my-own secret!") == b"my-own secret!"
    with pytest.raises(VerificationError, match="not followed by base64"):
        secret_bytes("whsec_not base64!")


def test_importable_without_the_server() -> None:
    code = (
        "import sys; import hookline.verify; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'pydantic', 'aiohttp', 'starlette', 'uvicorn', 'click')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def test_a_str_body_is_a_type_error_that_says_what_to_pass() -> None:
    with pytest.raises(TypeError, match=r"raw request body as bytes, not str: pass await request"):
        verify("standard", HEADERS, BODY.decode(), secret=SECRET, now=TIMESTAMP)


def test_bytes_like_bodies_are_accepted() -> None:
    verify("standard", HEADERS, bytearray(BODY), secret=SECRET, now=TIMESTAMP)
    verify("standard", HEADERS, memoryview(BODY), secret=SECRET, now=TIMESTAMP)


def test_a_missing_header_is_named_exactly() -> None:
    headers = {k: v for k, v in HEADERS.items() if k != "webhook-timestamp"}
    with pytest.raises(VerificationError) as caught:
        verify("standard", headers, BODY, secret=SECRET, now=TIMESTAMP)
    assert str(caught.value) == "missing header webhook-timestamp"
    with pytest.raises(VerificationError) as caught:
        verify("hmac-sha256", {}, BODY, secret=SECRET, brand="Acme", now=TIMESTAMP)
    assert str(caught.value) == "missing headers X-Acme-Signature-256, X-Acme-Timestamp"


def _signed_by(scheme: str) -> dict[str, str]:
    from hookline.signing import SigningKeys, signature_headers

    return {
        "Content-Type": "application/json",
        "X-Hookline-Timestamp": str(TIMESTAMP),
        **signature_headers(
            scheme,
            SigningKeys(key_id="wh_1", secrets=(SECRET,)),
            msg_id=MSG_ID,
            timestamp=TIMESTAMP,
            body=BODY,
            brand="Hookline",
            url="https://example.com/h",
        ),
    }


def _another_signature(header: str, value: str) -> str:
    """A signature of the same form as ``value`` that matches nothing."""
    if header == "Signature":
        return value.split("=", 1)[0] + "=:" + base64.b64encode(bytes(32)).decode() + ":"
    return value[: -len("0" * 64)] + "0" * 64


@pytest.mark.parametrize(
    ("scheme", "header", "value", "why"),
    [
        ("hmac-sha256", "X-Hookline-Signature-256", "sha256=xyz", "not sha256= followed by 64"),
        ("hmac-sha256", "X-Hookline-Signature-256", "a" * 64, "not sha256= followed by 64"),
        ("hmac-sha256-body", "X-Hookline-Hmac-Sha256", "sha256=" + "a" * 64, "not 64 hex"),
        ("rfc9421", "Signature", "garbage", "Signature is not a list of label=:base64:"),
        ("rfc9421", "Signature-Input", "other=()", "Signature-Input has no"),
    ],
)
def test_each_scheme_refuses_a_header_it_cannot_read_as_malformed(
    scheme: str, header: str, value: str, why: str
) -> None:
    headers = _signed_by(scheme)
    options = {"secret": SECRET, "url": "https://example.com/h", "now": TIMESTAMP}
    verify(scheme, headers, BODY, **options)  # as signed, it verifies
    with pytest.raises(MalformedDelivery, match=why):
        verify(scheme, {**headers, header: value}, BODY, **options)
    signature = "Signature" if scheme == "rfc9421" else header
    other = {**headers, signature: _another_signature(signature, headers[signature])}
    with pytest.raises(VerificationError) as raised:  # readable, but not a match
        verify(scheme, other, BODY, **options)
    assert not isinstance(raised.value, MalformedDelivery)


SVIX_HEADERS = {f"svix-{name.removeprefix('webhook-')}": v for name, v in HEADERS.items()}


def test_svix_names_verify_with_the_svix_scheme_only() -> None:
    verify("svix", SVIX_HEADERS, BODY, secret=SECRET, now=TIMESTAMP)
    with pytest.raises(VerificationError, match="missing headers svix-id"):
        verify("svix", HEADERS, BODY, secret=SECRET, now=TIMESTAMP)
    with pytest.raises(VerificationError, match="missing headers webhook-id"):
        verify("standard", SVIX_HEADERS, BODY, secret=SECRET, now=TIMESTAMP)
    with pytest.raises(VerificationError, match="no signature matches"):
        verify("svix", SVIX_HEADERS, BODY + b" ", secret=SECRET, now=TIMESTAMP)
    unreadable = {**SVIX_HEADERS, "svix-signature": "not-a-signature"}
    with pytest.raises(MalformedDelivery, match="svix-signature is not a list"):
        verify("svix", unreadable, BODY, secret=SECRET, now=TIMESTAMP)
