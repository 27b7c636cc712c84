"""Event types with schemas by version, on both stores: the catalog keeps every version with
its example, a single schema is version 1, and an event is validated against the version it
names (by default the latest)."""

from __future__ import annotations

from typing import Any

import pytest
from support.app import Api, MakeApi, assert_error

V1 = {"type": "object", "required": ["user"]}
V2 = {"type": "object", "required": ["user", "plan"], "properties": {"plan": {"type": "string"}}}
EX1 = {"user": "u_1"}
EX2 = {"user": "u_1", "plan": "pro"}


@pytest.fixture
async def api(make_api: MakeApi, database: str) -> Api:
    made = await make_api(database_url=database)
    await made.workspace(id="acme", name="Acme")
    body = {
        "name": "user.signed_up",
        "schemas": {"1": V1, "2": V2},
        "examples": {"1": EX1, "2": EX2},
    }
    await made.ok("POST", "/v1/event-types", 201, json=body)
    return made


async def send(api: Api, data: dict[str, Any], **fields: Any) -> Any:
    body = {"type": "user.signed_up", "data": data, **fields}
    return await api.post("/v1/workspaces/acme/events", json=body)


async def test_every_version_is_kept_with_its_example(api: Api) -> None:
    et = await api.ok("GET", "/v1/event-types/user.signed_up")
    assert et["schemas"] == {"1": V1, "2": V2}
    assert et["examples"] == {"1": EX1, "2": EX2}
    assert (et["schema"], et["example"]) == (V1, EX1)  # the single fields are version 1
    assert (et["latestVersion"], et["deprecated"]) == ("2", False)
    listed = await api.ok("GET", "/v1/event-types")
    assert [e["schemas"] for e in listed if e["name"] == "user.signed_up"] == [{"1": V1, "2": V2}]


async def test_a_single_schema_is_version_1_read_and_written(api: Api) -> None:
    body = {"name": "a.b", "schema": V1, "example": EX1}
    et = await api.ok("POST", "/v1/event-types", 201, json=body)
    assert (et["schemas"], et["examples"], et["latestVersion"]) == ({"1": V1}, {"1": EX1}, "1")
    et = await api.ok(
        "PATCH", "/v1/event-types/user.signed_up", json={"schema": {"type": "object"}}
    )
    assert et["schemas"] == {"1": {"type": "object"}, "2": V2}
    assert et["examples"] == {"1": EX1, "2": EX2}
    et = await api.ok("PATCH", "/v1/event-types/user.signed_up", json={"schema": None})
    assert (et["schema"], et["example"], et["schemas"]) == (None, EX1, {"2": V2})


async def test_schemas_replace_every_version(api: Api) -> None:
    body = {"schemas": {"2": V2, "3": {"type": "object"}}, "examples": {"2": EX2}}
    et = await api.ok("PATCH", "/v1/event-types/user.signed_up", json=body)
    assert (et["schemas"], et["examples"], et["latestVersion"]) == (
        {"2": V2, "3": {"type": "object"}},
        {"2": EX2},
        "3",
    )
    et = await api.ok("GET", "/v1/event-types/user.signed_up")
    assert et["schema"] is None and et["example"] is None


async def test_versions_order_as_numbers(api: Api) -> None:
    body = {"schemas": {"9": V1, "10": V2}}
    et = await api.ok("PATCH", "/v1/event-types/user.signed_up", json=body)
    assert et["latestVersion"] == "10"
    assert_error(await send(api, EX1), 422, "schema_violation")
    assert (await send(api, EX2)).status_code == 202


async def test_an_event_follows_the_latest_version_unless_it_names_one(api: Api) -> None:
    error = assert_error(await send(api, EX1), 422, "schema_violation")
    assert "version 2" in error["message"]
    assert (await send(api, EX2)).status_code == 202
    assert (await send(api, EX1, schemaVersion="1")).status_code == 202
    assert (await send(api, EX2, schemaVersion=2)).status_code == 202
    assert_error(await send(api, EX1, schemaVersion=2), 422, "schema_violation")


async def test_an_unknown_or_malformed_version_is_refused(api: Api) -> None:
    error = assert_error(await send(api, EX2, schemaVersion="3"), 422, "unknown_schema_version")
    assert "'3'" in error["message"] and "1, 2" in error["message"]
    for bad in ("v2", "0", "", True, 1.5, ["2"]):
        assert_error(await send(api, EX2, schemaVersion=bad), 422, "invalid_schema_version")


async def test_a_batch_names_versions_per_event(api: Api) -> None:
    events = [
        {"type": "user.signed_up", "data": EX1, "schemaVersion": "1"},
        {"type": "user.signed_up", "data": EX1},
        {"type": "user.signed_up", "data": EX2, "schemaVersion": "7"},
        {"type": "user.signed_up", "data": EX2},
    ]
    results = await api.ok("POST", "/v1/workspaces/acme/events/batch", json={"events": events})
    assert [r["status"] for r in results] == [202, 422, 422, 202]
    assert [r["error"]["code"] for r in results if not r["ok"]] == [
        "schema_violation",
        "unknown_schema_version",
    ]


async def test_a_new_version_takes_effect_at_once(api: Api) -> None:
    assert (await send(api, EX2)).status_code == 202
    v2 = {**V2, "required": ["user", "plan", "seats"]}
    body = {"schemas": {"1": V1, "2": v2}, "examples": {"2": {**EX2, "seats": 1}}}
    await api.ok("PATCH", "/v1/event-types/user.signed_up", json=body)
    assert_error(await send(api, EX2), 422, "schema_violation")
    assert (await send(api, {**EX2, "seats": 3})).status_code == 202


async def test_a_type_without_versions_takes_no_version(api: Api) -> None:
    await api.ok("POST", "/v1/event-types", 201, json={"name": "bare.type"})
    body = {"type": "bare.type", "data": {}}
    assert (await api.post("/v1/workspaces/acme/events", json=body)).status_code == 202
    response = await api.post("/v1/workspaces/acme/events", json={**body, "schemaVersion": "1"})
    assert_error(response, 422, "unknown_schema_version")


async def test_deprecated_is_kept_and_its_events_still_accepted(api: Api) -> None:
    et = await api.ok("PATCH", "/v1/event-types/user.signed_up", json={"deprecated": True})
    assert et["deprecated"] is True
    assert (await api.ok("GET", "/v1/event-types/user.signed_up"))["deprecated"] is True
    assert (await send(api, EX2)).status_code == 202
    et = await api.ok("PATCH", "/v1/event-types/user.signed_up", json={"description": "d"})
    assert et["deprecated"] is True
    body = {"name": "old.type", "deprecated": True}
    assert (await api.ok("POST", "/v1/event-types", 201, json=body))["deprecated"] is True


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"schema": V1, "schemas": {"1": V1}}, "invalid_schema"),
        ({"example": EX1, "examples": {"1": EX1}}, "invalid_example"),
        ({"schemas": {"v1": V1}}, "invalid_schema"),
        ({"schemas": {"0": V1}}, "invalid_schema"),
        ({"schemas": {"2": {"type": "objectish"}}}, "invalid_schema"),
        ({"schemas": {"1": V1, "2": V2}, "examples": {"2": EX1}}, "invalid_example"),
        ({"schemas": {"1": V1}, "examples": {"2": EX2}}, "invalid_example"),
        ({"examples": {"x": EX1}}, "invalid_example"),
        ({"schemas": {str(n): V1 for n in range(1, 102)}}, "invalid_schema"),
    ],
)
async def test_bad_versions_are_refused(api: Api, body: dict[str, Any], code: str) -> None:
    error = assert_error(await api.post("/v1/event-types", json={"name": "x.y", **body}), 422, code)
    assert error["message"]
    error = assert_error(await api.patch("/v1/event-types/user.signed_up", json=body), 422, code)
    after = await api.ok("GET", "/v1/event-types/user.signed_up")
    assert after["schemas"] == {"1": V1, "2": V2}


async def test_send_example_sends_the_latest_versions_example(api: Api) -> None:
    api.deliver_on_wake()
    wh = await api.webhook("acme")
    path = f"/v1/webhooks/{wh['id']}/test"
    sent = await api.ok("POST", path, json={"eventType": "user.signed_up"})
    detail = await api.ok("GET", f"/v1/deliveries/{sent['id']}")
    assert detail["event"]["data"] == EX2
    body = {"schemas": {"1": V1, "2": V2, "3": V2}, "examples": {"1": EX1, "2": EX2}}
    await api.ok("PATCH", "/v1/event-types/user.signed_up", json=body)
    assert_error(await api.post(path, json={"eventType": "user.signed_up"}), 422, "no_example")
