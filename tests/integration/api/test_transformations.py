"""A webhook's transformation through the API, on SQLite and on PostgreSQL: set on create,
shown, changed and cleared by PATCH; a malformed one is refused with a code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.app import Api, MakeApi, assert_error
from support.postgres import BACKENDS, POSTGRES_URL, with_database

from hookline.domain.limits import MAX_TRANSFORMATION_CODE

CODE = "function handler(webhook) {\n  webhook.payload.seen = true;\n  return webhook;\n}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        yield ""
        return
    databases = request.getfixturevalue("postgres_databases")
    name = databases.take()
    yield with_database(POSTGRES_URL, name)
    databases.give_back(name)


@pytest.fixture
async def api(database_url: str, make_api: MakeApi) -> Api:
    return await make_api(database_url=database_url)


async def test_a_transformation_is_stored_shown_changed_and_cleared(api: Api, ws: str) -> None:
    hook = await api.webhook(ws, transformation={"code": CODE})
    assert hook["transformation"] == {"code": CODE, "enabled": True}
    shown = await api.ok("GET", f"/v1/webhooks/{hook['id']}")
    assert shown["transformation"] == {"code": CODE, "enabled": True}

    off = {"code": CODE, "enabled": False}
    changed = await api.ok("PATCH", f"/v1/webhooks/{hook['id']}", json={"transformation": off})
    assert changed["transformation"] == off
    untouched = await api.ok("PATCH", f"/v1/webhooks/{hook['id']}", json={"name": "n"})
    assert untouched["transformation"] == off

    cleared = await api.ok("PATCH", f"/v1/webhooks/{hook['id']}", json={"transformation": None})
    assert cleared["transformation"] is None
    assert (await api.webhook(ws))["transformation"] is None


@pytest.mark.parametrize(
    "value",
    [
        {"code": ""},
        {"code": "x" * (MAX_TRANSFORMATION_CODE + 1)},
        {"code": CODE, "enabled": "yes"},
        {"enabled": True},
        "function handler(w) { return w; }",
    ],
)
async def test_a_malformed_transformation_is_refused(api: Api, ws: str, value: object) -> None:
    response = await api.post(
        f"/v1/workspaces/{ws}/webhooks",
        json={"url": "https://example.com/hook", "events": ["*"], "transformation": value},
    )
    error = assert_error(response, 422)
    assert error["message"]


async def example_type(api: Api, name: str = "order.paid") -> str:
    await api.ok(
        "POST",
        "/v1/event-types",
        201,
        json={"name": name, "example": {"order": "o_1", "amount": 1250}},
    )
    return name


async def test_try_runs_the_code_on_the_example_and_sends_nothing(api: Api, ws: str) -> None:
    hook = await api.webhook(ws, headers={"X-Team": "blue"})
    name = await example_type(api)
    code = (
        "function handler(w) { w.payload = {cents: w.payload.data.amount, type: w.eventType};"
        " w.headers['X-Extra'] = '1'; return w; }"
    )
    tried = await api.ok(
        "POST",
        f"/v1/webhooks/{hook['id']}/transformation/try",
        json={"eventType": name, "code": code},
    )
    assert tried["given"]["eventType"] == name
    assert tried["given"]["payload"]["data"] == {"order": "o_1", "amount": 1250}
    assert tried["given"]["url"] == hook["url"]
    assert tried["body"] == '{"cents":1250,"type":"order.paid"}'
    assert tried["headers"] == {"X-Team": "blue", "X-Extra": "1"}
    assert (tried["cancelled"], tried["error"]) == (False, None)
    deliveries = await api.ok("GET", f"/v1/webhooks/{hook['id']}/deliveries")
    assert deliveries == []


async def test_try_shows_a_failure_a_cancel_and_uses_the_saved_code(api: Api, ws: str) -> None:
    name = await example_type(api)
    hook = await api.webhook(
        ws, transformation={"code": "function handler(w) { w.cancel = true; return w; }"}
    )
    path = f"/v1/webhooks/{hook['id']}/transformation/try"
    saved = await api.ok("POST", path, json={"eventType": name})
    assert (saved["cancelled"], saved["body"], saved["error"]) == (True, None, None)

    thrown = await api.ok(
        "POST", path, json={"eventType": name, "code": "function handler(w) { throw 'x'; }"}
    )
    assert thrown["error"] and thrown["body"] is None
    looping = await api.ok(
        "POST", path, json={"eventType": name, "code": "function handler(w) { for (;;) {} }"}
    )
    assert "time limit" in looping["error"]


async def test_try_needs_an_example_and_some_code(api: Api, ws: str) -> None:
    hook = await api.webhook(ws)
    await api.ok("POST", "/v1/event-types", 201, json={"name": "bare.type"})
    path = f"/v1/webhooks/{hook['id']}/transformation/try"
    code = "function handler(w) { return w; }"
    response = await api.post(path, json={"eventType": "bare.type", "code": code})
    assert_error(response, 422, "no_example")
    name = await example_type(api)
    assert_error(await api.post(path, json={"eventType": name}), 422, "invalid_transformation")
