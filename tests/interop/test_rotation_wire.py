"""Secret rotation as receivers see it (``POST /v1/webhooks/{id}/secret/rotate``).

``standard`` and ``ed25519`` carry one signature per live key: during the grace period a
receiver holding only the old key and one holding only the new key both accept a delivery;
afterwards only the new one does. ``rfc9421`` carries one signature, by the current secret:
``http-message-signatures``' ``verifyMessage`` does not accept "any valid signature" (see
``test_verify_message_lets_the_last_signature_decide``), so a second one would break receivers.
"""

from __future__ import annotations

import base64
import itertools
import time

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from support.polling import poll
from support.receiver import Endpoint, Received, Receiver
from support.server import Api

from hookline.verify import VerificationError, verify

from .nodejs import Node
from .wire import as_json, disco_request, keys_of, send_raw, signed_rfc9421, workspace

pytestmark = pytest.mark.slow

Keys = tuple[str, str]  # (secret, whpk_ public key)


def accepts(scheme: str, captured: Received, keys: Keys) -> bool:
    """Does a receiver holding only ``keys`` accept ``captured``? With the reference tools:
    the standardwebhooks library for v1, cryptography's Ed25519PublicKey for v1a."""
    secret, public = keys
    if scheme == "standard":
        try:
            Webhook(secret).verify(captured.body, captured.headers)
        except WebhookVerificationError:
            return False
        return True
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public.removeprefix("whpk_")))
    message = f"{captured.header('webhook-id')}.{captured.header('webhook-timestamp')}.".encode()
    for candidate in (captured.header("webhook-signature") or "").split():
        try:
            key.verify(base64.b64decode(candidate.removeprefix("v1a,")), message + captured.body)
        except InvalidSignature:
            continue
        return True
    return False


def rotate(api: Api, wh_id: str, grace: float) -> Keys:
    data = api.post(f"/v1/webhooks/{wh_id}/secret/rotate", {"graceSeconds": grace})
    assert data["publicKey"].startswith("whpk_")
    return data["secret"], data["publicKey"]


def one_delivery(api: Api, endpoint: Endpoint, ws: str, n: int) -> Received:
    send_raw(api, ws, "user.updated", as_json({"n": n, "name": "Zoë"}))
    return endpoint.wait(n)[n - 1]


@pytest.mark.parametrize("scheme", ["standard", "ed25519"])
def test_old_and_new_keys_verify_during_the_grace_period_and_only_new_after(
    api: Api, receiver: Receiver, scheme: str
) -> None:
    ws = workspace(api, signature=scheme)
    short_endpoint, long_endpoint = receiver.endpoint(), receiver.endpoint()
    short = api.webhook(ws, short_endpoint.url)
    long = api.webhook(ws, long_endpoint.url)
    short_old = keys_of(api, short["id"])
    short_new = rotate(api, short["id"], grace=1)  # its grace runs out while we check `long`
    long_old = keys_of(api, long["id"])
    long_new = rotate(api, long["id"], grace=60)
    assert keys_of(api, long["id"]) == long_new != long_old

    during = one_delivery(api, long_endpoint, ws, 1)
    assert len((during.header("webhook-signature") or "").split()) == 2
    assert accepts(scheme, during, long_old)
    assert accepts(scheme, during, long_new)
    assert not accepts(scheme, during, short_new)  # a stranger's key still fails

    # After the grace period only the new key signs. Poll: send until a delivery shows it.
    sent = itertools.count(1)
    after = poll(
        lambda: one_delivery(api, short_endpoint, ws, next(sent)),
        lambda delivered: not accepts(scheme, delivered, short_old),
        timeout=10,
        interval=0,
        what="the old key no longer signing after a 1 s grace",
    )
    assert accepts(scheme, after, short_new)
    assert len((after.header("webhook-signature") or "").split()) == 1


@pytest.mark.parametrize("scheme", ["hmac-sha256", "hmac-sha256-body"])
def test_single_signature_schemes_sign_with_the_new_secret_during_the_grace_period(
    api: Api, receiver: Receiver, scheme: str
) -> None:
    ws = workspace(api, signature=scheme, brand="Acme")
    endpoint = receiver.endpoint()
    wh = api.webhook(ws, endpoint.url)
    old, _ = keys_of(api, wh["id"])
    new, _ = rotate(api, wh["id"], grace=60)
    captured = one_delivery(api, endpoint, ws, 1)

    verify(scheme, captured.headers, captured.body, secret=new, brand="Acme")
    with pytest.raises(VerificationError, match="the signature does not match the secret"):
        verify(scheme, captured.headers, captured.body, secret=old, brand="Acme")


def test_rfc9421_signs_with_the_current_secret_only_during_the_grace_period(
    api: Api, receiver: Receiver, node: Node
) -> None:
    ws = workspace(api, signature="rfc9421", brand="Disco")
    endpoint = receiver.endpoint()
    wh = api.webhook(ws, endpoint.url)
    old, _ = keys_of(api, wh["id"])
    new, _ = rotate(api, wh["id"], grace=60)
    captured = one_delivery(api, endpoint, ws, 1)

    signature = captured.header("Signature") or ""
    labels = [part.split("=", 1)[0].strip() for part in signature.split(",")]
    assert labels == ["sig1"]
    verify("rfc9421", captured.headers, captured.body, secret=new, url=captured.url)
    with pytest.raises(VerificationError, match="no signature matches"):
        verify("rfc9421", captured.headers, captured.body, secret=old, url=captured.url)
    verdicts = node.verify([disco_request(captured, new), disco_request(captured, old)])
    assert [v["ok"] for v in verdicts] == [True, False], verdicts


def test_verify_message_lets_the_last_signature_decide(node: Node) -> None:
    """Why rfc9421 keeps one signature during rotation: with the Disco seed's key lookup (one
    secret, whatever the keyid), ``verifyMessage`` returns the result of the *last* signature
    and discards the others. So sig1 (new) + sig2 (old) would make a receiver holding only the
    new secret refuse every delivery of the grace period. hookline.verify accepts any match."""
    url = "http://127.0.0.1:9/hook"
    now = int(time.time())
    new_then_old = signed_rfc9421(["new-secret", "old-secret"], timestamp=now, url=url)
    old_then_new = signed_rfc9421(["old-secret", "new-secret"], timestamp=now, url=url)
    batch = [
        {**new_then_old, "secret": "new-secret"},
        {**new_then_old, "secret": "old-secret"},
        {**old_then_new, "secret": "new-secret"},
        {**old_then_new, "secret": "old-secret"},
    ]
    assert [v["verified"] for v in node.verify(batch)] == [False, True, True, False]
    for request in batch:  # hookline.verify accepts any one matching signature
        body = request["rawBody"].encode()
        verify("rfc9421", request["headers"], body, secret=request["secret"], url=url)
