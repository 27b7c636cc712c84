"""Property-based tests of the whole API against its own OpenAPI document.

Schemathesis generates valid and invalid requests for every operation of
``/openapi.json`` and calls the app in-process with the admin key. Path
parameters are real ids of a seeded workspace half of the time, so requests
reach the handlers rather than stopping at 404. No response may be a 5xx, and
every response must match the status codes, content types and schemas the
document declares.

Each operation is its own pytest test on its own freshly seeded app (so one
operation's DELETE cannot starve the others), driven by Hypothesis through
``APIOperation.as_strategy``: schemathesis's ``from_fixture`` runner does not
work on pytest 9 (it sets ``node._nodeid``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.app import ADMIN_KEY, Api, settings_for, start

from hookline.api.app import create_app
from hookline.api.openapi import document
from hookline.service import Services

Ids = dict[str, list[str]]
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


async def seed(api: Api) -> Ids:
    """One of everything, with finished deliveries and attempts to read, resend and recover.

    Returns the real ids for each path parameter.
    """
    ws = (await api.workspace(id="acme", name="Acme", plan="pro"))["id"]
    key = await api.ok(
        "POST", f"/v1/workspaces/{ws}/api-keys", 201, json={"name": "k", "role": "member"}
    )
    await api.ok(
        "POST",
        "/v1/event-types",
        201,
        json={"name": "user.created", "schema": {"type": "object"}, "example": {"id": 1}},
    )
    # The test ping waits for a first attempt that never comes here: keep the wait short.
    hook = await api.webhook(ws, retryPolicy={"timeout": 0.05})
    event = await api.event(ws, "user.created", {"id": 1, "name": "Ada"}, id="evt-seeded")
    await api.settle(500)
    await api.event(ws, "user.created", {"id": 2})
    deliveries = await api.ok("GET", f"/v1/workspaces/{ws}/deliveries")
    return {
        "wId": [ws],
        "whId": [hook["id"]],
        "eventId": [event["id"]],
        "dlvId": [d["id"] for d in deliveries],
        "keyId": [key["id"]],
        "name": ["user.created"],
    }


def config(ids: Ids) -> schemathesis.Config:
    """Each path parameter takes a seeded id half of the time, a generated value otherwise."""
    return schemathesis.Config.from_dict(
        {
            "seed": 20260318,
            "headers": AUTH,
            "generation": {"deterministic": True},
            "dictionaries": {name: {"values": values} for name, values in ids.items()},
            "parameters": {
                f"path.{name}": {"dictionary": name, "probability": 0.5} for name in ids
            },
        }
    )


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FastAPI, Ids]]:
    """A fresh, seeded app for each operation."""
    monkeypatch.setattr("hookline.service.deliveries.TEST_WAIT_MARGIN", 0.0)  # see seed()
    services: Services = asyncio.run(start(settings_for(tmp_path)))
    app = create_app(services)

    async def seeded() -> Ids:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://seed") as client:
            return await seed(Api(app, client, services))

    try:
        yield app, asyncio.run(seeded())
    finally:
        asyncio.run(services.ctx.store.close())


def operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the app's OpenAPI document."""
    return [(m.upper(), path) for path, ops in document()["paths"].items() for m in sorted(ops)]


@pytest.mark.parametrize(("method", "path"), operations(), ids=lambda x: x)
def test_operation_conforms_to_the_openapi_document(
    app: tuple[FastAPI, Ids], method: str, path: str
) -> None:
    asgi, ids = app
    schema = schemathesis.openapi.from_asgi("/openapi.json", asgi, config=config(ids))
    operation = schema[path][method]
    modes = [GenerationMode.POSITIVE]
    if operation.path_parameters or operation.query or operation.body:
        modes.append(GenerationMode.NEGATIVE)
    strategy = st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in modes))

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=AUTH, checks=CHECKS)

    check()
