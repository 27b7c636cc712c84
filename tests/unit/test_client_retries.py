"""What the client retries: a connection never made and a 429 always; a 5xx or a lost answer
only where repeating it has no second effect (reads, updates, deletes, sends with their key)."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import ValidationError

from hookline.client import Client, Retries, ServerError
from hookline.client._base import retryable

FAST = Retries(attempts=2, initial=0.001, maximum=0.002)
OK = {"ok": True, "data": {"status": "ok"}}
BUSY = {"ok": False, "error": {"code": "busy", "message": "Try again."}}


def scripted(*statuses: int) -> tuple[Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    answers = list(statuses)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = answers.pop(0) if answers else 200
        return httpx.Response(status, json=OK if status == 200 else BUSY)

    return Client(
        "http://h.test", "hk_x", retries=FAST, transport=httpx.MockTransport(answer)
    ), seen


def test_a_read_is_retried_after_a_5xx() -> None:
    client, seen = scripted(503, 502)
    assert client.health().status == "ok"
    assert len(seen) == 3


def test_a_create_is_not_repeated_after_a_5xx_but_is_after_a_429() -> None:
    client, seen = scripted(500)
    with pytest.raises(ServerError) as failed:
        client.create_workspace("Acme")
    assert len(seen) == 1 and failed.value.code == "busy"
    client, seen = scripted(429)
    with pytest.raises(ValidationError, match="for Workspace"):  # the canned answer is none
        client.create_workspace("Acme")
    assert len(seen) == 2


def test_a_send_is_repeated_with_the_same_key() -> None:
    client, seen = scripted(503)
    with pytest.raises(ValidationError, match="for EventAccepted"):  # the canned answer is none
        client.send("acme", "a.b", {})
    assert len(seen) == 2 and seen[0].content == seen[1].content
    assert b'"id":"evt_' in seen[0].content.replace(b" ", b"")


def test_retryable_by_outcome() -> None:
    refused = httpx.ConnectError("refused")
    lost = httpx.ReadError("reset")
    assert retryable("POST", False, refused)
    assert not retryable("POST", False, lost)
    assert retryable("POST", True, lost) and retryable("GET", False, lost)
    assert not retryable("GET", False, httpx.Response(404))


def test_retry_after_is_honoured_up_to_the_maximum() -> None:
    retries = Retries(attempts=3, initial=0.1, maximum=5.0)
    assert retries.delay(0, httpx.Response(429, headers={"Retry-After": "2"})) == 2.0
    assert retries.delay(0, httpx.Response(429, headers={"Retry-After": "60"})) == 5.0
    assert 0 <= retries.delay(3, None) <= 0.8


def test_a_send_carries_its_ttl_and_schema_version_single_and_in_a_batch() -> None:
    client, seen = scripted()
    with pytest.raises(ValidationError):  # the canned answer is none
        client.send("acme", "a.b", {}, ttl=60, schema_version="2")
    with pytest.raises(ValidationError):
        client.send_batch(
            "acme",
            [
                {"type": "a.b", "data": {}, "ttl": 5, "schema_version": "1"},
                {"type": "a.b", "data": {}},
            ],
        )
    single, batch = (json.loads(r.content) for r in seen)
    assert (single["ttl"], single["schemaVersion"]) == (60, "2")
    assert [(e.get("ttl"), e.get("schemaVersion")) for e in batch["events"]] == [
        (5, "1"),
        (None, None),
    ]
