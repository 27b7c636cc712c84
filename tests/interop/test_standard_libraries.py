"""Standard Webhooks receivers accept real deliveries: the ``standardwebhooks`` and ``svix``
libraries for ``standard`` (v1), ``cryptography``'s Ed25519PublicKey for ``ed25519`` (v1a)."""

from __future__ import annotations

import base64
import json

import pytest
import svix.webhooks
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from support.receiver import Receiver
from support.server import Api

from hookline.domain import jsjson
from hookline.verify import verify

from .wire import as_json, deliver, keys_of, workspace

pytestmark = pytest.mark.slow

DATAS = [
    as_json({"n": 1}),
    as_json({"text": "café ✓ 👍🏽 東京", "nested": {"list": [1, 2.5, None, True]}}),
    as_json({"big": 12345678901234567890, "e21": 1e21, "10": "index", "b": "key"}),
]


def test_standardwebhooks_and_svix_verify_standard_deliveries(api: Api, receiver: Receiver) -> None:
    ws = workspace(api, signature="standard")
    got = deliver(api, receiver.endpoint(), ws, DATAS)
    wh_id = api.get(f"/v1/workspaces/{ws}/webhooks")[0]["id"]
    secret, _ = keys_of(api, wh_id)
    assert secret.startswith("whsec_")

    for captured, sent in zip(got, DATAS, strict=True):
        headers = captured.headers
        envelope = Webhook(secret).verify(captured.body, headers)
        # Integers beyond 2**53 arrive as JavaScript reads them (CONTRACT §4).
        assert envelope["data"] == json.loads(jsjson.dumps(json.loads(sent)))
        svix.webhooks.Webhook(secret).verify(captured.body, headers)
        verify("standard", headers, captured.body, secret=secret)

        tampered = captured.body.replace(b'"data":{', b'"data":{"x":1,')
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(tampered, headers)
        with pytest.raises(svix.webhooks.WebhookVerificationError):
            svix.webhooks.Webhook(secret).verify(tampered, headers)


def test_ed25519_deliveries_verify_with_the_public_key(api: Api, receiver: Receiver) -> None:
    ws = workspace(api, signature="ed25519")
    got = deliver(api, receiver.endpoint(), ws, DATAS)
    wh_id = api.get(f"/v1/workspaces/{ws}/webhooks")[0]["id"]
    _, public = keys_of(api, wh_id)
    assert public.startswith("whpk_")
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public.removeprefix("whpk_")))

    for captured in got:
        msg_id = captured.header("webhook-id")
        timestamp = captured.header("webhook-timestamp")
        signatures = (captured.header("webhook-signature") or "").split()
        assert msg_id and timestamp and signatures
        assert all(s.startswith("v1a,") for s in signatures), signatures
        message = f"{msg_id}.{timestamp}.".encode() + captured.body
        key.verify(base64.b64decode(signatures[0].removeprefix("v1a,")), message)
        with pytest.raises(InvalidSignature):
            key.verify(base64.b64decode(signatures[0].removeprefix("v1a,")), message + b" ")
        verify("ed25519", captured.headers, captured.body, public_key=public)
