from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from hookline.signing import SCHEMES, SigningKeys, generate_secret, signature_headers
from hookline.verify import VerificationError, secret_bytes, verify_standard

# The Standard Webhooks specification's test vector.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def sign(
    secrets: list[str],
    *,
    timestamp: int = TIMESTAMP,
    body: bytes = BODY,
    scheme: str = "standard",
) -> dict[str, str]:
    return signature_headers(
        scheme,
        SigningKeys(key_id="wh_1", secrets=tuple(secrets)),
        msg_id=MSG_ID,
        timestamp=timestamp,
        body=body,
        brand="Hookline",
        url="https://example.com/hook",
    )


def test_standard_webhooks_vector() -> None:
    assert sign([SECRET]) == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(TIMESTAMP),
        "webhook-signature": SIGNATURE,
    }


def test_svix_is_the_same_signature_under_svix_names() -> None:
    assert sign([SECRET], scheme="svix") == {
        "svix-id": MSG_ID,
        "svix-timestamp": str(TIMESTAMP),
        "svix-signature": SIGNATURE,
    }
    rotated = sign([generate_secret(), SECRET], scheme="svix")
    assert rotated["svix-signature"].split(" ")[1] == SIGNATURE


def test_signing_key_is_the_base64_part_of_the_secret() -> None:
    assert secret_bytes(SECRET) == base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")


def test_rotation_signs_with_every_key_current_first() -> None:
    new = generate_secret()
    headers = sign([new, SECRET])
    first, second = headers["webhook-signature"].split(" ")
    assert second == SIGNATURE
    assert first != SIGNATURE and first.startswith("v1,")
    # A receiver holding either secret accepts the delivery.
    verify_standard(new, headers, BODY, now=TIMESTAMP)
    verify_standard(SECRET, headers, BODY, now=TIMESTAMP)


def test_generated_secrets() -> None:
    secrets = {generate_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


def test_unknown_scheme_is_refused() -> None:
    assert "standard" in SCHEMES
    with pytest.raises(ValueError, match="unknown signature scheme"):
        signature_headers(
            "md5",
            SigningKeys(key_id="wh_1", secrets=("k",)),
            msg_id=MSG_ID,
            timestamp=TIMESTAMP,
            body=BODY,
            brand="Hookline",
            url="https://example.com/hook",
        )


@pytest.mark.parametrize("secret", [SECRET, "whsec_" + "A" * 43, None])
def test_standardwebhooks_library_verifies_our_signature(secret: str | None) -> None:
    secret = secret or generate_secret()
    body = '{"id":"evt_1","type":"a.b","data":{"name":"Zoë 😀"}}'.encode()
    headers = sign([generate_secret(), secret], timestamp=int(time.time()), body=body)
    assert StandardWebhook(secret).verify(body, headers) == {
        "id": "evt_1",
        "type": "a.b",
        "data": {"name": "Zoë 😀"},
    }
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(secret).verify(body + b" ", headers)
    # And our verifier agrees with the library, unpadded secrets included.
    verify_standard(secret, headers, body)
    with pytest.raises(VerificationError):
        verify_standard(secret, headers, body + b" ")
