"""Svix's wire format (``signature: "svix"``, ``envelope: "raw"``): the official ``svix``
packages, Python's and Node's, verify real deliveries unchanged and get the event's data
back as the payload, also while a rotated secret is in its grace period; ``hookline.verify``
and ``hookline.receive`` take the same deliveries."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
import svix.webhooks
from support.receiver import Receiver
from support.server import Api

from hookline.domain import jsjson
from hookline.domain.workspace_settings import svix_settings
from hookline.receive import Rejected, Verifier
from hookline.verify import detect_scheme, verify

from .nodejs import Node
from .wire import as_json, deliver, delivery_id, keys_of, send_raw

pytestmark = pytest.mark.slow

DATAS = [
    as_json({"n": 1}),
    as_json({"text": "café ✓ 👍🏽 東京", "nested": {"list": [1, 2.5, None, True]}}),
    as_json({"id": "not-the-event-id", "type": "x", "data": {"inner": True}}),
]
STRANGER = "whsec_" + "A" * 43 + "="


def svix_workspace(api: Api) -> str:
    return api.workspace(settings=svix_settings())


def node_request(headers: Mapping[str, str], body: bytes, secret: str) -> dict[str, object]:
    """A request for the Node receiver that calls the ``svix`` package, headers as arrived."""
    return {"kind": "svix", "headers": dict(headers), "rawBody": body.decode(), "secret": secret}


def test_the_svix_packages_verify_deliveries_and_get_the_data_as_sent(
    api: Api, receiver: Receiver, node: Node
) -> None:
    ws = svix_workspace(api)
    got = deliver(api, receiver.endpoint(), ws, DATAS, type="order.paid")
    wh_id = api.get(f"/v1/workspaces/{ws}/webhooks")[0]["id"]
    secret, _ = keys_of(api, wh_id)

    verdicts = node.verify([node_request(c.headers, c.body, secret) for c in got])
    for captured, sent, verdict in zip(got, DATAS, verdicts, strict=True):
        data = json.loads(sent)
        # The body is the event's data, byte for byte as Hookline encoded it at ingest.
        assert captured.body == jsjson.dumps(data).encode()
        lower = {k.lower(): v for k, v in captured.headers.items()}
        assert lower["svix-id"] == delivery_id(captured)
        assert lower["svix-signature"].startswith("v1,")
        assert not [k for k in lower if k.startswith("webhook-")]

        svix.webhooks.Webhook(secret).verify(captured.body, captured.headers)  # raises if not
        assert json.loads(captured.body) == data
        assert verdict == {"ok": True, "payload": data}

        verify("svix", captured.headers, captured.body, secret=secret)
        assert detect_scheme(captured.headers) == "svix"
        event = Verifier(secret=secret, scheme="svix").check(captured.headers, captured.body)
        assert (event.id, event.type, event.data) == (lower["svix-id"], "order.paid", data)

    # The helpers refuse it named as another scheme (400) or with another secret (401).
    with pytest.raises(Rejected) as unnamed:
        Verifier(secret=secret).check(got[0].headers, got[0].body)
    assert (unnamed.value.status, unnamed.value.code) == (400, "malformed_delivery")
    with pytest.raises(Rejected) as stranger:
        Verifier(secret=STRANGER, scheme="svix").check(got[0].headers, got[0].body)
    assert (stranger.value.status, stranger.value.code) == (401, "invalid_signature")

    tampered = got[0].body.replace(b'"n":1', b'"n":2')
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        svix.webhooks.Webhook(secret).verify(tampered, got[0].headers)
    (refused,) = node.verify([node_request(got[0].headers, tampered, secret)])
    assert refused["ok"] is False


def test_old_and_new_secrets_verify_with_svix_during_the_grace_period(
    api: Api, receiver: Receiver, node: Node
) -> None:
    ws = svix_workspace(api)
    endpoint = receiver.endpoint()
    wh = api.webhook(ws, endpoint.url)
    old, _ = keys_of(api, wh["id"])
    new = api.post(f"/v1/webhooks/{wh['id']}/secret/rotate", {"graceSeconds": 60})["secret"]
    assert new != old
    send_raw(api, ws, "order.paid", as_json({"n": 1}))
    (captured,) = endpoint.wait(1)

    signatures = {k.lower(): v for k, v in captured.headers.items()}["svix-signature"].split()
    assert len(signatures) == 2
    for secret in (old, new):
        svix.webhooks.Webhook(secret).verify(captured.body, captured.headers)
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        svix.webhooks.Webhook(STRANGER).verify(captured.body, captured.headers)
    verdicts = node.verify(
        [node_request(captured.headers, captured.body, s) for s in (old, new, STRANGER)]
    )
    assert [v["ok"] for v in verdicts] == [True, True, False]


def test_a_test_ping_in_svix_format_is_its_empty_data(api: Api, receiver: Receiver) -> None:
    ws = svix_workspace(api)
    endpoint = receiver.endpoint()
    wh = api.webhook(ws, endpoint.url)
    secret, _ = keys_of(api, wh["id"])
    api.post(f"/v1/webhooks/{wh['id']}/test", {})
    (captured,) = endpoint.wait(1)
    assert captured.body == b"{}"
    svix.webhooks.Webhook(secret).verify(captured.body, captured.headers)
