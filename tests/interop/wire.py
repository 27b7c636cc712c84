"""Helpers shared by the interop tests: workspaces with a delivery format, secrets, sending, and
received requests turned into what the Node receivers read."""

from __future__ import annotations

import json
from typing import Any

from support.receiver import Endpoint, Received
from support.server import Api

from hookline.signing import SigningKeys, signature_headers


def workspace(api: Api, **delivery: str) -> str:
    """A fresh workspace whose ``settings.delivery`` is ``delivery``."""
    return api.workspace(settings={"delivery": delivery})


def keys_of(api: Api, wh_id: str) -> tuple[str, str]:
    """The webhook's secret and ed25519 public key (``whpk_``), from ``GET …/secret``."""
    data = api.get(f"/v1/webhooks/{wh_id}/secret")
    return data["secret"], data["publicKey"]


def send_raw(api: Api, ws_id: str, type: str, data_json: str) -> str:
    """Post an event whose ``data`` is the JSON text ``data_json`` as written; its id."""
    body = f'{{"type":{json.dumps(type)},"data":{data_json}}}'.encode()
    resp = api.http.post(
        f"/v1/workspaces/{ws_id}/events",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 202, resp.text
    event_id: str = resp.json()["data"]["id"]
    return event_id


def deliver(
    api: Api,
    endpoint: Endpoint,
    ws_id: str,
    datas: list[str],
    *,
    type: str = "test.sent",
    **webhook: Any,
) -> list[Received]:
    """Create a webhook to ``endpoint``, send one event per JSON text in ``datas`` and return
    the requests as they arrived, in the order the events were sent."""
    api.webhook(ws_id, endpoint.url, **webhook)
    ids = [send_raw(api, ws_id, type, data) for data in datas]
    got = endpoint.wait(len(ids))
    by_id = {delivery_id(c): c for c in got}
    return [by_id[i] for i in ids]


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def delivery_id(captured: Received) -> str:
    """The event id of a delivery, from its ``X-{Brand}-Delivery`` header."""
    value = next((v for k, v in captured.headers.items() if k.lower().endswith("-delivery")), None)
    assert value, f"no X-{{Brand}}-Delivery header in {captured.headers}"
    return value


def disco_request(captured: Received, secret: str, **overrides: Any) -> dict[str, Any]:
    """A captured request for the Node Disco receiver (``verifyMessage`` + Content-Digest)."""
    return {
        "kind": "disco",
        "method": captured.method,
        "url": captured.url,
        "headers": dict(captured.headers),
        "rawBody": captured.body.decode(),
        "secret": secret,
        **overrides,
    }


def disqua_request(captured: Received, secret: str) -> dict[str, Any]:
    """A captured request for the Node Disqua receiver (HMAC over ``"{timestamp}.{rawBody}"``)."""
    return {
        "kind": "disqua",
        "rawBody": captured.body.decode(),
        "signature": captured.header("X-Disqua-Signature-256"),
        "timestamp": captured.header("X-Disqua-Timestamp"),
        "secret": secret,
    }


def signed_rfc9421(
    secrets: list[str], *, timestamp: int, url: str, body: bytes = b'{"id":"evt_1","data":{}}'
) -> dict[str, Any]:
    """A request for the Node Disco receiver signed here as Hookline signs (no secret set):
    ``sig1`` by ``secrets[0]``, ``sig2`` by ``secrets[1]``, and so on."""
    signed = [
        signature_headers(
            "rfc9421",
            SigningKeys(key_id="wh_1", secrets=(secret,)),
            msg_id="evt_1",
            timestamp=timestamp,
            body=body,
            brand="Disco",
            url=url,
        )
        for secret in secrets
    ]
    labelled = [
        {k: v.replace("sig1=", f"sig{i}=") for k, v in headers.items()}
        for i, headers in enumerate(signed, 1)
    ]
    headers = {
        "Content-Type": "application/json",
        "Content-Digest": signed[0]["Content-Digest"],
        "Signature-Input": ", ".join(h["Signature-Input"] for h in labelled),
        "Signature": ", ".join(h["Signature"] for h in labelled),
    }
    return {
        "kind": "disco",
        "method": "POST",
        "url": url,
        "headers": headers,
        "rawBody": body.decode(),
    }
