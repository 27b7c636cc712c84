"""docs/receiving.md stays true: its FastAPI receiver runs as written against signed deliveries,
and every Python block in it at least compiles."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hookline.signing import SigningKeys, generate_secret, signature_headers

DOC = Path(__file__).parents[2] / "docs" / "receiving.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def python_blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text())


def fastapi_example() -> str:
    text = DOC.read_text()
    start = text.index("<!-- example: fastapi")
    match = BLOCK.search(text, start)
    assert match is not None
    return match.group(1)


def test_every_python_block_compiles() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 6
    for block in blocks:
        compile(block, str(DOC), "exec")


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
    exec(compile(fastapi_example(), str(DOC), "exec"), namespace)
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
