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
