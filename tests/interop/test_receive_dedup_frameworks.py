"""Each receiving helper with ``dedup=``, on each store, fed a real delivery of a real server:
a duplicate answers 2xx without running the handler again, concurrent duplicates (threads,
and concurrent requests for FastAPI) run it once, and a handler that fails (raises, or
answers other than 2xx) releases the claim so that the retry runs it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from support.receiver import Received, Receiver
from support.server import Api

from hookline.receive.dedup import DeliveryStore

from .conftest import Stores
from .test_receive_dedup_stores import THREADS, at_once
from .wire import deliver, keys_of, workspace

if TYPE_CHECKING:
    from fastapi import FastAPI

# What the handler does on a call: None to succeed, an HTTP status to answer (or, in
# FastAPI, raise as HTTPException), or an exception to raise.
Outcome = int | Exception | None
Post = Callable[[dict[str, str], bytes], tuple[int, Any]]


class Handler:
    """The application's handler: counts its runs, does what ``outcomes`` says in turn."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.runs = 0
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            self.runs += 1
            outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, Exception):
            raise outcome
        return outcome or 200


def fastapi_receiver(secret: str, dedup: DeliveryStore, handler: Handler) -> FastAPI:
    from fastapi import Depends, FastAPI, HTTPException

    from hookline.receive import WebhookEvent
    from hookline.receive.fastapi import WebhookVerifier

    app = FastAPI()
    verifier = WebhookVerifier(secret=secret, dedup=dedup)

    @app.post("/hooks")
    async def receive(event: WebhookEvent = Depends(verifier)) -> dict[str, Any]:  # noqa: B008
        status = handler()
        if status >= 300:
            raise HTTPException(status, detail="not now")
        return {"handled": event.id}

    return app


async def concurrently(
    app: FastAPI, requests: list[tuple[dict[str, str], bytes]]
) -> list[tuple[int, Any]]:
    """``requests`` posted at once; each answer, (500, None) for an endpoint that raised."""
    import httpx

    async def call(client: httpx.AsyncClient, headers: dict[str, str], body: bytes) -> Any:
        try:
            resp = await client.post("/hooks", content=body, headers=headers)
        except RuntimeError:  # raised by the endpoint, through the ASGI transport
            return 500, None
        return resp.status_code, resp.json()

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        return list(await asyncio.gather(*(call(c, h, b) for h, b in requests)))


def fastapi_app(secret: str, dedup: DeliveryStore, handler: Handler) -> Post:
    app = fastapi_receiver(secret, dedup, handler)

    def post(headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        [answer] = asyncio.run(concurrently(app, [(headers, body)]))
        return answer

    return post


def flask_app(secret: str, dedup: DeliveryStore, handler: Handler) -> Post:
    from flask import Flask, g

    from hookline.receive.flask import verify_webhook

    app = Flask(__name__)

    @app.post("/hooks")
    @verify_webhook(secret=secret, dedup=dedup)
    def receive() -> tuple[dict[str, Any], int]:
        return {"handled": g.webhook.id}, handler()

    def post(headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        resp = app.test_client().post("/hooks", data=body, headers=headers)
        return resp.status_code, resp.get_json()

    return post


def django_app(secret: str, dedup: DeliveryStore, handler: Handler) -> Post:
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

    @verify_webhook(secret=secret, dedup=dedup)
    def receive(request: HttpRequest) -> JsonResponse:
        status = handler()
        return JsonResponse({"handled": request.webhook.id}, status=status)  # type: ignore[attr-defined]

    def post(headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        request = RequestFactory().post(
            "/hooks", data=body, content_type="application/json", headers=headers
        )
        try:
            resp = receive(request)
        except RuntimeError:  # a view's exception, which Django would answer with 500
            return 500, None
        return resp.status_code, json.loads(resp.content)

    return post


FRAMEWORKS = [
    pytest.param(fastapi_app, id="fastapi"),
    pytest.param(flask_app, id="flask"),
    pytest.param(django_app, id="django"),
]
AppFactory = Callable[[str, DeliveryStore, Handler], Post]


@pytest.fixture(scope="module")
def delivery(api: Api, receiver: Receiver) -> tuple[dict[str, str], bytes, str, str]:
    """A real standard-signed delivery as received: its headers, body, id and secret."""
    ws = workspace(api)
    [got] = deliver(api, receiver.endpoint(), ws, ['{"invoiceId":"in_1"}'], type="invoice.paid")
    secret, _ = keys_of(api, api.get(f"/v1/workspaces/{ws}/webhooks")[0]["id"])
    key = got.header("webhook-id")
    assert key is not None
    return forward(got), got.body, key, secret


def forward(got: Received) -> dict[str, str]:
    skip = {"host", "content-length", "transfer-encoding", "connection"}
    return {k: v for k, v in got.headers.items() if k.lower() not in skip}


def duplicate_answer(make: AppFactory, answer: Any, key: str) -> None:
    """The duplicate's body: FastAPI's ``detail`` shape, or the decorators' ``ok`` one."""
    if make is fastapi_app:
        assert answer["detail"]["code"] == "duplicate"
        assert key in answer["detail"]["message"]
    else:
        assert answer["ok"] is True and answer["duplicate"] is True
        assert key in answer["message"]


@pytest.mark.parametrize("make", FRAMEWORKS)
def test_a_duplicate_answers_2xx_and_the_handler_ran_once(
    make: AppFactory, stores: Stores, delivery: tuple[dict[str, str], bytes, str, str]
) -> None:
    headers, body, key, secret = delivery
    handler = Handler()
    post = make(secret, stores.make(), handler)
    assert post(headers, body) == (200, {"handled": key})
    status, answer = post(headers, body)
    assert status == 200
    duplicate_answer(make, answer, key)
    assert handler.runs == 1
    tampered = body.replace(b"in_1", b"in_2")
    assert post(headers, tampered)[0] == 401  # verified before any claim
    assert handler.runs == 1


@pytest.mark.parametrize("make", FRAMEWORKS)
def test_a_failing_handler_releases_the_claim_and_the_retry_runs_it(
    make: AppFactory, stores: Stores, delivery: tuple[dict[str, str], bytes, str, str]
) -> None:
    headers, body, key, secret = delivery
    handler = Handler(RuntimeError("the database is down"), 503)
    post = make(secret, stores.make(), handler)
    assert post(headers, body)[0] == 500
    assert post(headers, body)[0] == 503
    assert post(headers, body) == (200, {"handled": key})
    assert post(headers, body)[0] == 200
    assert handler.runs == 3


@pytest.mark.parametrize("make", FRAMEWORKS)
def test_concurrent_duplicates_run_the_handler_once(
    make: AppFactory, stores: Stores, delivery: tuple[dict[str, str], bytes, str, str]
) -> None:
    headers, body, key, secret = delivery
    handler = Handler()
    post = make(secret, stores.make(), handler)
    answers: list[tuple[int, Any]] = []
    assert at_once(lambda: answers.append(post(headers, body))) == []
    assert sorted(status for status, _ in answers) == [200] * THREADS
    assert [answer for _, answer in answers].count({"handled": key}) == 1
    assert handler.runs == 1


def test_concurrent_requests_to_fastapi_run_the_endpoint_once(
    stores: Stores, delivery: tuple[dict[str, str], bytes, str, str]
) -> None:
    headers, body, key, secret = delivery
    handler = Handler()
    app = fastapi_receiver(secret, stores.make(), handler)
    answers = asyncio.run(concurrently(app, [(headers, body)] * THREADS))
    assert [status for status, _ in answers] == [200] * THREADS
    assert [answer for _, answer in answers].count({"handled": key}) == 1
    assert handler.runs == 1
