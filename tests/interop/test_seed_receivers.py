"""Receivers written from each seed document's verification steps accept real deliveries made
with the matching ``settings.delivery`` (CONTRACT §5): Disqua in Python and in Node, Disco in
Node with ``http-message-signatures``, Acadio and Discko in Python.

The steps are written here from the documents, not copied: each receiver is a few lines
following what the seed tells its customers to do.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import pytest
from support.receiver import Received, Receiver
from support.server import Api

from hookline.domain import jsjson
from hookline.verify import verify

from .nodejs import Node
from .wire import (
    as_json,
    deliver,
    disco_request,
    disqua_request,
    keys_of,
    signed_rfc9421,
    workspace,
)

pytestmark = pytest.mark.slow

DISQUA = {
    "signature": "hmac-sha256",
    "envelope": "typed",
    "brand": "Disqua",
    "userAgent": "Disqua-Webhook/1.0",
}


def disqua_python(raw_body: bytes, signature: str, timestamp: str, secret: str) -> bool:
    """The Disqua seed's Python steps: HMAC-SHA256 of "{timestamp}.{body}", 5-minute window."""
    if abs(time.time() - int(timestamp)) > 300:
        return False
    signed = f"{timestamp}.{raw_body.decode('utf-8')}"
    expected = hmac.new(secret.encode("utf-8"), signed.encode("utf-8"), hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), signature.replace("sha256=", ""))


DISQUA_DATAS = [
    as_json({"message": {"content": "Hello **world**! 👋", "id": "01HQ8B"}}),
    as_json({"channel": {"name": "général"}, "n": [1.5, 1e21, -0.0]}),
]
OWN_SECRET = pytest.mark.parametrize(
    "own_secret", [True, False], ids=["caller-secret", "generated-secret"]
)


def disqua_deliveries(api: Api, receiver: Receiver, own_secret: bool) -> tuple[str, list[Received]]:
    """Deliveries made with the Disqua settings, checked against the Disqua document's headers
    and envelope; with the webhook's secret (chosen by the caller, as Disqua allows, or not)."""
    ws = workspace(api, **DISQUA)
    chosen = {"secret": secrets.token_hex(32)} if own_secret else {}
    got = deliver(
        api, receiver.endpoint(), ws, DISQUA_DATAS, type="message.created", events=["*"], **chosen
    )
    wh_id = api.get(f"/v1/workspaces/{ws}/webhooks")[0]["id"]
    secret, _ = keys_of(api, wh_id)
    assert secret == chosen.get("secret", secret)

    for captured, sent in zip(got, DISQUA_DATAS, strict=True):
        assert captured.header("User-Agent") == "Disqua-Webhook/1.0"
        assert captured.header("Content-Type") == "application/json"
        assert captured.header("X-Disqua-Event") == "message.created"
        envelope = json.loads(captured.body)
        assert list(envelope) == ["id", "type", "workspaceId", "createdAt", "data"]
        assert envelope["id"] == captured.header("X-Disqua-Delivery")
        assert envelope["id"].startswith("evt_")
        assert envelope["type"] == "message.created"
        assert envelope["workspaceId"] == ws
        assert envelope["data"] == json.loads(jsjson.dumps(json.loads(sent)))
        signature = captured.header("X-Disqua-Signature-256") or ""
        timestamp = captured.header("X-Disqua-Timestamp") or ""
        assert signature.startswith("sha256=")
        assert abs(int(timestamp) - time.time()) < 60
    return secret, got


@OWN_SECRET
def test_disqua_receiver_in_python_accepts_hmac_sha256(
    api: Api, receiver: Receiver, own_secret: bool
) -> None:
    secret, got = disqua_deliveries(api, receiver, own_secret)
    for captured in got:
        signature = captured.header("X-Disqua-Signature-256") or ""
        timestamp = captured.header("X-Disqua-Timestamp") or ""
        assert disqua_python(captured.body, signature, timestamp, secret)
        assert not disqua_python(captured.body, signature, timestamp, secret + "x")
        assert not disqua_python(captured.body + b" ", signature, timestamp, secret)
        assert not disqua_python(captured.body, signature, str(int(timestamp) - 301), secret)
        verify("hmac-sha256", captured.headers, captured.body, secret=secret, brand="Disqua")


@OWN_SECRET
def test_disqua_receiver_in_node_accepts_hmac_sha256(
    api: Api, receiver: Receiver, node: Node, own_secret: bool
) -> None:
    secret, got = disqua_deliveries(api, receiver, own_secret)
    requests = [disqua_request(c, secret) for c in got]
    wrong = [{**r, "secret": "not-the-secret"} for r in requests]
    tampered = [{**r, "rawBody": r["rawBody"].replace("}", " }", 1)} for r in requests]
    stale = [{**r, "timestamp": str(int(r["timestamp"]) - 301)} for r in requests]
    verdicts = node.verify(requests + wrong + tampered + stale)
    n = len(requests)
    assert [v["ok"] for v in verdicts[:n]] == [True] * n, verdicts[:n]
    assert [v["ok"] for v in verdicts[n:]] == [False] * (3 * n), verdicts[n:]


# Payloads whose JSON.stringify must give back exactly the bytes Hookline signed.
DISCO_PAYLOADS: dict[str, str] = {
    "unicode": as_json(
        {
            "name": "Zoë Ångström",
            "city": "Москва",
            "cjk": "東京都",
            "rtl": "שלום עולם",
            "combining": "e\u0301",
            "escapes": 'quote " backslash \\ slash / nl \n tab \t cr \r bell \u0007 del \u007f',
            "separators": "\u2028\u2029",
            "nul": "\u0000",
        }
    ),
    "emoji": as_json(
        {
            "reaction": "👍🏽",
            "family": "👨‍👩‍👧‍👦",
            "flag": "🇫🇷",
            "text": "ship it 🚀",
            "🔑": "emoji key",
        }
    ),
    "lone-surrogate": '{"broken":"\\ud83d","pair":"\\ud83d\\ude80","low":"x\\udc00y"}',
    "nested": as_json(
        {
            "a": [{"b": [[], {}, [1, [2, [3, {"c": None}]]]]}, None, True, False, ""],
            "deep": {"x": {"y": {"z": {"w": [[[[]]]]}}}},
            "empty": {},
        }
    ),
    "numbers": (
        '{"float":0.1,"sum":0.30000000000000004,"neg":-2.5,"e21":1e21,"e20":1e20,'
        '"E21":1E+21,"tiny":1e-7,"small":0.000001,"big":12345678901234567890,'
        '"beyond_safe":9007199254740993,"safe":9007199254740991,"negzero":-0,"negzerof":-0.0,'
        '"int_float":100.0,"exp":1.5e300,"denormal":5e-324,"max":1.7976931348623157e308,'
        '"neg_big":-98765432109876543210,"frac_exp":123.456e5,"many":[1,1.0,1.10,0.5e1]}'
    ),
    "integer-like-keys": (
        '{"b":1,"10":2,"2":3,"a":4,"01":5,"4294967294":6,"4294967295":7,"-1":8,"1.5":9,'
        '"0":10,"1e3":11,"00":12," 3":13,"9007199254740993":14}'
    ),
}


def test_disco_receiver_in_node_accepts_rfc9421(api: Api, receiver: Receiver, node: Node) -> None:
    ws = workspace(api, signature="rfc9421", brand="Disco", userAgent="Disco-Webhooks/1.0")
    datas = list(DISCO_PAYLOADS.values())
    got = deliver(
        api, receiver.endpoint(), ws, datas, type="content.user_completed", events=["content.*"]
    )
    wh = api.get(f"/v1/workspaces/{ws}/webhooks")[0]
    secret, _ = keys_of(api, wh["id"])

    for captured in got:
        assert captured.url == wh["url"]
        assert captured.header("Content-Digest") is not None
        signature_input = captured.header("Signature-Input") or ""
        assert signature_input.startswith(
            'sig1=("@method" "@target-uri" "content-digest" "content-type");created='
        )
        assert f';keyid="{wh["id"]}";alg="hmac-sha256"' in signature_input
        verify("rfc9421", captured.headers, captured.body, secret=secret, url=captured.url)

    requests = [disco_request(c, secret) for c in got]
    verdicts = node.verify(
        [
            *requests,
            *({**r, "urlObject": True} for r in requests),
            *({**r, "secret": secret + "x"} for r in requests),
            *({**r, "method": "PUT"} for r in requests),
            *({**r, "url": r["url"] + "?other"} for r in requests),
            *({**r, "rawBody": r["rawBody"].replace("{", '{"x":1,', 1)} for r in requests),
        ]
    )
    n = len(requests)
    for name, verdict in zip(DISCO_PAYLOADS, verdicts[:n], strict=True):
        assert verdict == {
            "ok": True,
            "verified": True,
            "digestMatches": True,
            "reserializedSame": True,
        }, name
    assert all(v["ok"] for v in verdicts[n : 2 * n]), verdicts[n : 2 * n]
    wrong_secret, other_method, other_url, tampered = (
        verdicts[k * n : (k + 1) * n] for k in range(2, 6)
    )
    for rejected in (wrong_secret, other_method, other_url):
        assert [(v["verified"], v["digestMatches"]) for v in rejected] == [(False, True)] * n
    assert [(v["verified"], v["digestMatches"]) for v in tampered] == [(True, False)] * n


def test_disco_target_uri_is_the_url_as_sent(api: Api, receiver: Receiver, node: Node) -> None:
    """A registered URL in a non-canonical form is signed as it goes out on the wire, which is
    what a receiver rebuilds from its request line and ``Host`` header."""
    ws = workspace(api, signature="rfc9421", brand="Disco")
    endpoint = receiver.endpoint()
    registered = endpoint.url.replace("http://", "HTTP://") + "?b=1&a=%7e#fragment"
    wh = api.webhook(ws, registered)
    api.send(ws, "content.user_completed", {"user": "u1"})
    (captured,) = endpoint.wait()
    secret, _ = keys_of(api, wh["id"])

    assert captured.url == endpoint.url + "?b=1&a=~"  # unreserved, sent decoded
    verify("rfc9421", captured.headers, captured.body, secret=secret, url=captured.url)
    verdicts = node.verify(
        [
            disco_request(captured, secret),
            disco_request(captured, secret, url=registered),
        ]
    )
    assert verdicts[0]["ok"], verdicts[0]
    # The registered spelling is not what was sent: a receiver must use the URL it was called at.
    assert not verdicts[1]["verified"]


def test_verify_message_checks_only_the_age_it_is_told(node: Node) -> None:
    """The seed's snippet sets no ``maxAge`` (any age passes) and the default ``tolerance: 0``
    refuses a ``created`` even a little in the future; docs/receiving.md sets both."""
    url = "http://127.0.0.1:9/hook"
    now = int(time.time())
    old = {**signed_rfc9421(["s"], timestamp=now - 3600, url=url), "secret": "s"}
    ahead = {**signed_rfc9421(["s"], timestamp=now + 3, url=url), "secret": "s"}
    verdicts = node.verify(
        [
            old,
            {**old, "maxAge": 300, "tolerance": 5},
            ahead,
            {**ahead, "maxAge": 300, "tolerance": 5},
        ]
    )
    assert [v["verified"] for v in verdicts] == [True, False, False, True], verdicts
    assert "too old" in verdicts[1]["error"]


ACADIO = {"signature": "hmac-sha256-body", "brand": "Acadio", "userAgent": "Acadio/1.0"}


def acadio_valid(captured: Received, secret: str) -> bool:
    """The Acadio steps: hex HMAC-SHA256 of the JSON payload as received, keyed by the secret."""
    received = captured.header("X-Acadio-Hmac-Sha256") or ""
    expected = hmac.new(secret.encode(), captured.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received)


def test_acadio_receiver_accepts_hmac_sha256_body(api: Api, receiver: Receiver) -> None:
    ws = workspace(api, **ACADIO)
    secret = "acadio-integration-" + secrets.token_urlsafe(16)
    datas = [as_json({"course": {"id": 7, "title": "Sécurité 101"}, "score": 99.5})]
    got = deliver(
        api,
        receiver.endpoint(),
        ws,
        datas,
        type="course/completion/create",
        events=["course/*"],
        secret=secret,
    )

    for captured in got:
        assert captured.header("X-Acadio-Event") == "course/completion/create"
        assert captured.header("User-Agent") == "Acadio/1.0"
        assert acadio_valid(captured, secret)
        assert not acadio_valid(captured, secret + "x")
        tampered = dataclasses.replace(captured, body=captured.body + b"\n")
        assert not acadio_valid(tampered, secret)
        verify("hmac-sha256-body", captured.headers, captured.body, secret=secret, brand="Acadio")


DISCKO = {"signature": "none", "envelope": "dated", "brand": "Discko"}


def discko_receive(captured: Received) -> dict[str, Any]:
    """The Discko receiver: no signature to check; destructure {date, event, data}."""
    body = json.loads(captured.body)
    date, event, data = body["date"], body["event"], body["data"]
    assert isinstance(date, str) and isinstance(event, str) and isinstance(data, dict)
    return dict(body)


def test_discko_receiver_gets_dated_envelopes_and_the_test_event(
    api: Api, receiver: Receiver
) -> None:
    ws = workspace(api, **DISCKO)
    lead = {"id": "req_abc123", "locked": False, "completion": 100, "company": None}
    endpoint = receiver.endpoint()
    (captured,) = deliver(
        api, endpoint, ws, [as_json(lead)], type="lead.unlocked", events=["lead.unlocked"]
    )
    body = discko_receive(captured)
    assert list(body) == ["date", "event", "data"]
    assert body["event"] == "lead.unlocked"
    assert body["data"] == lead
    unsigned = {"webhook-signature", "signature", "signature-input", "content-digest"}
    names = {k.lower() for k in captured.headers}
    assert not names & unsigned, names
    assert not any(k.endswith(("-signature-256", "-hmac-sha256")) for k in names), names
    assert captured.header("X-Discko-Event") == "lead.unlocked"

    wh = api.get(f"/v1/workspaces/{ws}/webhooks")[0]
    tested = api.post(f"/v1/webhooks/{wh['id']}/test")
    assert tested["attempts"], tested
    test_event = discko_receive(endpoint.wait(2)[1])
    assert list(test_event) == ["date", "event", "data", "test"]
    assert test_event["event"] == "test"
    assert test_event["data"] == {}
    assert test_event["test"] is True
