"""The receiving helpers (FastAPI dependency, Flask and Django view decorators) take real
deliveries of a real server and refuse altered, stale, foreign and malformed ones."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from support.receiver import Received, Receiver
from support.server import Api

from hookline.receive import Rejected, Verifier
from hookline.signing import SigningKeys, generate_secret, signature_headers

from .wire import deliver, keys_of, workspace

# A helper under test: given a verifier's options, a function posting (headers, body) to a
# real app built with the helper; it answers (status, JSON body).
Post = Callable[[dict[str, str], bytes], tuple[int, Any]]
AppFactory = Callable[..., Post]


def fastapi_app(**options: Any) -> Post:
    import httpx
    from fastapi import Depends, FastAPI

    from hookline.receive import WebhookEvent
    from hookline.receive.fastapi import WebhookVerifier

    app = FastAPI()
    verifier = WebhookVerifier(**options)

    @app.post("/hooks")
    async def receive(event: WebhookEvent = Depends(verifier)) -> dict[str, Any]:  # noqa: B008
        return {"id": event.id, "type": event.type, "data": event.data}

    async def call(headers: dict[str, str], body: bytes) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.post("/hooks", content=body, headers=headers)

    def post(headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        resp = asyncio.run(call(headers, body))
        answer = resp.json()
        if resp.status_code >= 400:  # FastAPI's shape: {"detail": …}
            answer = {"ok": False, "error": answer["detail"]}
        return resp.status_code, answer

    return post


def flask_app(**options: Any) -> Post:
    from flask import Flask, g

    from hookline.receive.flask import verify_webhook

    app = Flask(__name__)

    @app.post("/hooks")
    @verify_webhook(**options)
    def receive() -> dict[str, Any]:
        return {"id": g.webhook.id, "type": g.webhook.type, "data": g.webhook.data}

    client = app.test_client()

    def post(headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        resp = client.post("/hooks", data=body, headers=headers)
        return resp.status_code, resp.get_json()

    return post


def django_app(**options: Any) -> Post:
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            ALLOWED_HOSTS=["testserver"], ROOT_URLCONF=__name__, SECRET_KEY="receive-tests"
        )
        import django

        django.setup()
    from django.http import HttpRequest, JsonResponse
    from django.test import RequestFactory

    from hookline.receive.django import verify_webhook

    @verify_webhook(**options)
    def receive(request: HttpRequest) -> JsonResponse:
        event = request.webhook  # type: ignore[attr-defined]
        return JsonResponse({"id": event.id, "type": event.type, "data": event.data})

    factory = RequestFactory()

    def post(headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        request = factory.post(
            "/hooks", data=body, content_type="application/json", headers=headers
        )
        request._dont_enforce_csrf_checks = False  # the decorator must exempt it
        resp = receive(request)
        return resp.status_code, json.loads(resp.content)

    return post


FRAMEWORKS = [
    pytest.param(fastapi_app, id="fastapi"),
    pytest.param(flask_app, id="flask"),
    pytest.param(django_app, id="django"),
]


@pytest.fixture(scope="module")
def delivery(api: Api, receiver: Receiver) -> tuple[Received, str, str]:
    """A real standard-signed delivery, with the webhook's secret and public key."""
    ws = workspace(api)
    [got] = deliver(
        api, receiver.endpoint(), ws, ['{"invoiceId":"in_1","amount":12.5}'], type="invoice.paid"
    )
    wh_id = api.get(f"/v1/workspaces/{ws}/webhooks")[0]["id"]
    secret, public = keys_of(api, wh_id)
    return got, secret, public


def forward(got: Received) -> dict[str, str]:
    skip = {"host", "content-length", "transfer-encoding", "connection"}
    return {k: v for k, v in got.headers.items() if k.lower() not in skip}


@pytest.mark.parametrize("make", FRAMEWORKS)
def test_a_real_delivery_is_verified_and_parsed(
    make: AppFactory, delivery: tuple[Received, str, str]
) -> None:
    got, secret, _ = delivery
    status, body = make(secret=secret)(forward(got), got.body)
    assert status == 200, body
    assert body["type"] == "invoice.paid"
    assert body["data"] == {"invoiceId": "in_1", "amount": 12.5}
    assert body["id"] == got.header("webhook-id")


@pytest.mark.parametrize("make", FRAMEWORKS)
def test_what_is_refused_and_with_which_status(
    make: AppFactory, delivery: tuple[Received, str, str]
) -> None:
    got, secret, _ = delivery
    post = make(secret=secret)
    headers = forward(got)
    tampered = got.body.replace(b"in_1", b"in_2")
    cases = {
        "tampered": (headers, tampered, 401, "invalid_signature"),
        "foreign secret": (headers, got.body, 401, "invalid_signature"),
        "missing headers": (
            {k: v for k, v in headers.items() if not k.lower().startswith("webhook-")},
            got.body,
            400,
            "malformed_delivery",
        ),
    }
    for name, (sent_headers, body, status, code) in cases.items():
        poster = make(secret=generate_secret()) if name == "foreign secret" else post
        answer_status, answer = poster(sent_headers, body)
        assert (answer_status, answer["error"]["code"]) == (status, code), (name, answer)
        assert answer["ok"] is False and answer["error"]["message"]


@pytest.mark.parametrize("make", FRAMEWORKS)
def test_a_signature_header_that_cannot_be_read_is_malformed(
    make: AppFactory, delivery: tuple[Received, str, str]
) -> None:
    got, secret, _ = delivery
    post = make(secret=secret)
    headers = forward(got)
    signature = next(v for k, v in headers.items() if k.lower() == "webhook-signature")
    unsigned = {k: v for k, v in headers.items() if k.lower() != "webhook-signature"}
    cases = {
        "this-is-not-a-valid-signature-token": "not a list of version,base64 signatures",
        signature.replace("v1,", "v2,"): "carries only v2 signatures; this verifier reads v1",
    }
    for value, why in cases.items():
        status, answer = post({**unsigned, "webhook-signature": value}, got.body)
        assert (status, answer["error"]["code"]) == (400, "malformed_delivery"), answer
        assert why in answer["error"]["message"]
    assert post(headers, got.body)[0] == 200  # the header as sent still verifies


def signed(
    secret: str, body: bytes, *, at: int | None = None, scheme: str = "standard"
) -> dict[str, str]:
    keys = SigningKeys(key_id="k", secrets=(secret,))
    return signature_headers(
        scheme,
        keys,
        msg_id="evt_local",
        timestamp=int(time.time()) if at is None else at,
        body=body,
        brand="Hookline",
        url="http://testserver/hooks",
    )


@pytest.mark.parametrize("make", FRAMEWORKS)
def test_stale_timestamps_bad_json_and_rotation(make: AppFactory) -> None:
    old, new = generate_secret(), generate_secret()
    body = b'{"id":"evt_local","type":"a.b","timestamp":"","data":{}}'
    post = make(secret=[new, old])  # during a rotation of the receiver's own
    assert post(signed(old, body), body)[0] == 200
    status, answer = post(signed(new, body, at=int(time.time()) - 3600), body)
    assert (status, answer["error"]["code"]) == (401, "invalid_signature")
    assert "timestamp" in answer["error"]["message"]
    not_json = b"not json"
    status, answer = post(signed(new, not_json), not_json)
    assert (status, answer["error"]["code"]) == (400, "invalid_json")
    status, answer = post({**signed(new, body), "webhook-timestamp": "soon"}, body)
    assert (status, answer["error"]["code"]) == (400, "malformed_delivery")


def test_other_schemes_and_a_secret_per_request(api: Api, receiver: Receiver) -> None:
    ws = workspace(api, signature="ed25519")
    [got] = deliver(api, receiver.endpoint(), ws, ['{"n":1}'])
    _, public = keys_of(api, api.get(f"/v1/workspaces/{ws}/webhooks")[0]["id"])
    assert Verifier(scheme="ed25519", public_key=public).check(got.headers, got.body).data == {
        "n": 1
    }

    ws = workspace(api, signature="hmac-sha256", brand="Acme")
    [got] = deliver(api, receiver.endpoint(), ws, ['{"n":2}'])
    secret, _ = keys_of(api, api.get(f"/v1/workspaces/{ws}/webhooks")[0]["id"])
    by_tenant = {"acme": secret}
    verifier = Verifier(
        scheme="hmac-sha256", brand="Acme", secret=lambda headers: by_tenant.get("acme")
    )
    assert verifier.check(got.headers, got.body).data == {"n": 2}
    with pytest.raises(Rejected) as refused:
        Verifier(scheme="hmac-sha256", brand="Acme", secret=lambda headers: None).check(
            got.headers, got.body
        )
    assert refused.value.status == 401
