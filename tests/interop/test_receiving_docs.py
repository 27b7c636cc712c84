"""docs/receiving.md stays true: its FastAPI receiver, its FastAPI helper and its three dedup
examples (memory, Redis, SQL on SQLite and PostgreSQL) behave as the page says against signed
deliveries (tests/acceptance/test_docs_snippets.py runs every block of the page)."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from support.brokers import REDIS
from support.brokers import require as require_broker

from hookline.signing import SigningKeys, generate_secret, signature_headers

DOC = Path(__file__).parents[2] / "docs" / "receiving.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def delivery(secret: str, event_id: str, data: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "id": event_id,
            "type": "user.created",
            "timestamp": "2026-01-01T00:00:00.000Z",
            "data": data,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    headers = {"Content-Type": "application/json"} | signature_headers(
        "standard",
        SigningKeys(key_id="wh_1", secrets=(secret,)),
        msg_id=event_id,
        timestamp=int(time.time()),
        body=body,
        brand="Hookline",
        url="http://testserver/webhooks/hookline",
    )
    return body, headers


async def test_the_fastapi_receiver_runs_as_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = generate_secret()
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    namespace: dict[str, Any] = {"__name__": "receiver_example"}
    exec(compile(example("fastapi"), str(DOC), "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, FastAPI)
    body, headers = delivery(secret, "evt_1", {"name": "Zoë"})

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        post = client.post
        first = await post("/webhooks/hookline", content=body, headers=headers)
        again = await post("/webhooks/hookline", content=body, headers=headers)
        tampered_body = body.replace("Zoë".encode(), b"Zoe")
        tampered = await post("/webhooks/hookline", content=tampered_body, headers=headers)
        plain = {"Content-Type": "application/json"}
        unsigned = await post("/webhooks/hookline", content=body, headers=plain)
        other_body, other_headers = delivery(generate_secret(), "evt_2", {})
        strangers = await post("/webhooks/hookline", content=other_body, headers=other_headers)

    assert (first.status_code, first.json()) == (200, {"status": "accepted"})
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    assert (tampered.status_code, tampered.json()) == (
        401,
        {"detail": "no signature matches the secret"},
    )
    assert unsigned.status_code == 401
    assert "missing headers webhook-id" in unsigned.json()["detail"]
    assert strangers.status_code == 401


def example(name: str) -> str:
    """The Python block after ``<!-- example: {name} … -->``."""
    text = DOC.read_text()
    match = BLOCK.search(text, text.index(f"<!-- example: {name} "))
    assert match is not None
    return match.group(1)


def run_example(name: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": f"receiver_{name.replace('-', '_')}"}
    exec(compile(example(name), str(DOC), "exec"), namespace)
    return namespace


async def test_the_fastapi_helper_refuses_in_fastapis_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page says the dependency's refusals are ``{"detail": {"code", "message"}}``."""
    secret = generate_secret()
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    app = run_example("fastapi-helper")["app"]
    body, headers = delivery(secret, "evt_helper", {})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        accepted = await client.post("/webhooks/hookline", content=body, headers=headers)
        tampered = await client.post("/webhooks/hookline", content=body + b" ", headers=headers)
    assert (accepted.status_code, accepted.json()) == (200, {"status": "accepted"})
    assert tampered.status_code == 401
    assert tampered.json()["detail"]["code"] == "invalid_signature"
    assert set(tampered.json()) == {"detail"}


def handled(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("handling")]


async def test_the_memory_dedup_example_handles_a_delivery_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = generate_secret()
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    app = run_example("dedup-memory")["app"]
    body, headers = delivery(secret, "evt_mem", {})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        first = await client.post("/webhooks/hookline", content=body, headers=headers)
        again = await client.post("/webhooks/hookline", content=body, headers=headers)
    assert (first.status_code, first.json()) == (200, {"status": "accepted"})
    assert again.status_code == 200
    assert again.json()["detail"]["code"] == "duplicate"
    assert handled(capsys.readouterr().out) == ["handling user.created evt_mem"]


def test_the_redis_dedup_example_handles_a_delivery_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import redis

    require_broker(REDIS)
    secret = generate_secret()
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    app = run_example("dedup-redis")["app"]
    event_id = f"evt_{uuid.uuid4().hex}"
    body, headers = delivery(secret, event_id, {})
    client = app.test_client()
    try:
        first = client.post("/webhooks/hookline", data=body, headers=headers)
        again = client.post("/webhooks/hookline", data=body, headers=headers)
    finally:
        with redis.Redis(host="127.0.0.1", port=6379) as r:
            r.delete(f"hookline:received:{event_id}")
    assert (first.status_code, first.get_json()) == (200, {"status": "accepted"})
    assert again.status_code == 200
    assert again.get_json()["duplicate"] is True
    assert handled(capsys.readouterr().out) == [f"handling user.created {event_id}"]


def test_the_sql_dedup_example_handles_a_delivery_once(
    app_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from django.conf import settings

    if not settings.configured:
        settings.configure(ALLOWED_HOSTS=["testserver"], SECRET_KEY="receive-tests")
        import django

        django.setup()
    from django.test import RequestFactory

    secret = generate_secret()
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    monkeypatch.setenv("DATABASE_URL", app_url.replace("postgresql://", "postgresql+psycopg://"))
    namespace = run_example("dedup-sql")
    body, headers = delivery(secret, "evt_sql", {})
    try:
        answers = [
            namespace["receive"](
                RequestFactory().post(
                    "/webhooks/hookline",
                    data=body,
                    content_type="application/json",
                    headers=headers,
                )
            )
            for _ in range(2)
        ]
        namespace["purge_expired_claims"]()
    finally:
        namespace["engine"].dispose()
    assert [a.status_code for a in answers] == [204, 200]
    assert json.loads(answers[1].content)["duplicate"] is True
    output = capsys.readouterr().out
    assert handled(output) == ["handling user.created evt_sql"]
    assert "purged 0" in output
