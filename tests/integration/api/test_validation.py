"""Each error code of the contract with its status, and the inputs that once broke the API."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from support.app import HOOK, TIME_RE, Api, MakeApi, assert_error, create_hook

# -- webhook URLs -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://example.com/hook", "ftp://example.com/hook", "/hook", "example.com/hook", "https://"],
)
async def test_url_must_be_absolute_https(api: Api, ws: str, url: str) -> None:
    assert_error(await create_hook(api, ws, url=url), 422, "https_required")


async def test_http_is_allowed_in_dev_mode_and_with_allow_http(make_api: MakeApi) -> None:
    for overrides in ({"dev": True}, {"allow_http": True}):
        api = await make_api(**overrides)
        await api.workspace(id="acme")
        response = await create_hook(api, "acme", url="http://example.com/hook")
        assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "url", ["https://user:pass@example.com/hook", "https://user@example.com/", "https://:p@x.io/"]
)
async def test_url_must_not_carry_credentials(api: Api, ws: str, url: str) -> None:
    error = assert_error(await create_hook(api, ws, url=url), 422, "invalid_url")
    assert "pass" not in error["message"]


async def test_url_longer_than_2048_is_refused(api: Api, ws: str) -> None:
    url = "https://example.com/" + "a" * 2029
    assert len(url) == 2049
    assert_error(await create_hook(api, ws, url=url), 422)
    assert (await create_hook(api, ws, url=url[:-1])).status_code == 201


BLOCKED = [
    "https://127.0.0.1/",
    "https://127.0.0.1:8443/hook",
    "https://[::1]/",
    "https://169.254.169.254/latest/meta-data",
    "https://10.0.0.7/",
    "https://172.16.5.4/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",
    "https://0.0.0.0/",
    "https://[::ffff:127.0.0.1]/",
    "https://[fd00::1]/",
    "https://[fe80::1]/",
    "https://224.0.0.1/",
    "https://2130706433/",
    "https://0x7f.1/",
    "https://localhost/",
]


@pytest.mark.parametrize("url", BLOCKED)
async def test_private_ip_literals_are_refused(api: Api, ws: str, url: str) -> None:
    assert_error(await create_hook(api, ws, url=url), 422, "url_not_allowed")


async def test_private_destinations_are_open_in_dev_mode(make_api: MakeApi) -> None:
    api = await make_api(dev=True)
    await api.workspace(id="acme", plan="pro")
    for url in BLOCKED:
        response = await create_hook(api, "acme", url=url)
        assert response.status_code == 201, (url, response.text)


async def test_allowed_networks_open_just_those(make_api: MakeApi) -> None:
    api = await make_api(allowed_networks=["10.1.0.0/16"])
    await api.workspace(id="acme")
    assert (await create_hook(api, "acme", url="https://10.1.2.3/")).status_code == 201
    assert_error(await create_hook(api, "acme", url="https://10.2.0.1/"), 422, "url_not_allowed")


async def test_patch_checks_the_url_too(api: Api, ws: str) -> None:
    hook = (await create_hook(api, ws)).json()["data"]
    path = f"/v1/webhooks/{hook['id']}"
    assert_error(await api.patch(path, json={"url": "http://x.io/"}), 422, "https_required")
    assert_error(await api.patch(path, json={"url": "https://[::1]/"}), 422, "url_not_allowed")
    assert (await api.ok("GET", path))["url"] == HOOK


# -- custom headers ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Content-Type",
        "content-type",
        "Content-Length",
        "Host",
        "User-Agent",
        "webhook-id",
        "Webhook-Signature",
        "WEBHOOK-TIMESTAMP",
        "Signature",
        "signature-input",
        "Content-Digest",
        "X-Hookline-Foo",
        "x-hookline-event",
        "X-HOOKLINE-SIGNATURE-256",
    ],
)
async def test_reserved_headers_are_refused(api: Api, ws: str, name: str) -> None:
    response = await create_hook(api, ws, headers={name: "v"})
    assert_error(response, 422, "reserved_header")


async def test_the_brand_prefix_follows_the_workspace_brand(api: Api) -> None:
    await api.workspace(id="disqua", settings={"delivery": {"brand": "Disqua"}})
    for name in ("X-Disqua-Event", "x-disqua-signature-256", "X-DISQUA-Anything"):
        response = await create_hook(api, "disqua", headers={name: "v"})
        assert_error(response, 422, "reserved_header")
    response = await create_hook(api, "disqua", headers={"X-Disquality": "v", "X-Tenant": "t"})
    assert response.status_code == 201, response.text


async def test_custom_headers_are_kept(api: Api, ws: str) -> None:
    headers = {"Authorization": "Bearer abc", "X-Tenant": "t-1"}
    data = (await create_hook(api, ws, headers=headers)).json()["data"]
    assert data["headers"] == headers


@pytest.mark.parametrize(
    "headers",
    [
        {"X-A": "line\r\nX-Injected: 1"},
        {"X-A": "line\nbreak"},
        {"X-A": "carriage\rreturn"},
        {"X-A": "nul\x00byte"},
        {"Bad Name": "v"},
        {"X-A:b": "v"},
        {"": "v"},
        {f"X-H{i}": "v" for i in range(21)},
        {"X-Big": "v" * 4097},
    ],
)
async def test_invalid_headers_are_refused(api: Api, ws: str, headers: dict[str, str]) -> None:
    assert_error(await create_hook(api, ws, headers=headers), 422, "invalid_header")


async def test_twenty_headers_are_fine(api: Api, ws: str) -> None:
    headers = {f"X-H{i}": "v" for i in range(20)}
    assert (await create_hook(api, ws, headers=headers)).status_code == 201


# -- subscriptions ----------------------------------------------------------------


@pytest.mark.parametrize(
    "events",
    [[], ["bad pattern"], ["content*"], ["*.created"], ["a.*.b"], ["**"], ["."], ["-x"], [""]],
)
async def test_invalid_event_patterns_are_refused(api: Api, ws: str, events: list[str]) -> None:
    assert_error(await create_hook(api, ws, events=events), 422, "invalid_events")


async def test_valid_event_patterns_are_kept(api: Api, ws: str) -> None:
    events = ["course.completed", "content/*", "message.*", "course/completion/create", "*"]
    data = (await create_hook(api, ws, events=events)).json()["data"]
    assert data["events"] == events


async def test_events_are_required(api: Api, ws: str) -> None:
    response = await api.post(f"/v1/workspaces/{ws}/webhooks", json={"url": HOOK})
    error = assert_error(response, 422)
    assert any(d["field"] == "events" for d in error["details"])


# -- plans ------------------------------------------------------------------------


async def test_free_plan_allows_ten_webhooks(api: Api, ws: str) -> None:
    for _ in range(10):
        assert (await create_hook(api, ws)).status_code == 201
    assert_error(await create_hook(api, ws), 403, "plan_limit_reached")
    hooks = await api.ok("GET", f"/v1/workspaces/{ws}/webhooks")
    assert len(hooks) == 10
    await api.ok("DELETE", f"/v1/webhooks/{hooks[0]['id']}")
    assert (await create_hook(api, ws)).status_code == 201


async def test_pro_plan_is_unlimited(api: Api) -> None:
    await api.workspace(id="big", plan="pro")
    for _ in range(15):
        assert (await create_hook(api, "big")).status_code == 201


async def test_unknown_plan_is_refused(api: Api) -> None:
    response = await api.post("/v1/workspaces", json={"name": "x", "plan": "platinum"})
    assert_error(response, 422)


# -- events -----------------------------------------------------------------------


async def test_event_at_the_size_limit_is_accepted_and_one_byte_more_is_413(
    make_api: MakeApi,
) -> None:
    api = await make_api(max_event_bytes=4096)
    await api.workspace(id="acme")
    head = b'{"type":"a.b","data":{"s":"'
    tail = b'"}}'
    body = head + b"x" * (4096 - len(head) - len(tail)) + tail
    assert len(body) == 4096
    headers = {"Content-Type": "application/json"}
    response = await api.post("/v1/workspaces/acme/events", content=body, headers=headers)
    assert response.status_code == 202, response.text
    body = body[:-3] + b'x"}}'
    response = await api.post("/v1/workspaces/acme/events", content=body, headers=headers)
    assert_error(response, 413, "payload_too_large")


async def test_oversized_streams_are_refused(make_api: MakeApi) -> None:
    api = await make_api(max_event_bytes=1024)
    await api.workspace(id="acme")

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"type": "a.b", "data": {"s": "'
        for _ in range(300):
            yield b"x" * 1000  # 300 KB: over both the event and the batch limit
        yield b'"}}'

    for path in ("/v1/workspaces/acme/events", "/v1/workspaces/acme/events/batch"):
        response = await api.post(path, content=chunks())
        assert_error(response, 413, "payload_too_large")


async def test_default_event_size_limit(api: Api, ws: str) -> None:
    assert api.settings.max_event_bytes == 262144
    data = {"s": "x" * 262144}
    response = await api.post(f"/v1/workspaces/{ws}/events", json={"type": "a.b", "data": data})
    assert_error(response, 413, "payload_too_large")


SCHEMA = {
    "type": "object",
    "required": ["user"],
    "properties": {
        "user": {
            "type": "object",
            "required": ["id", "email"],
            "properties": {"id": {"type": "integer"}, "email": {"type": "string"}},
        },
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


async def test_schema_violations_name_the_failing_paths(api: Api, ws: str) -> None:
    await api.ok("POST", "/v1/event-types", 201, json={"name": "user.created", "schema": SCHEMA})
    data = {"user": {"id": "seven"}, "tags": ["a", 2]}
    response = await api.post(
        f"/v1/workspaces/{ws}/events", json={"type": "user.created", "data": data}
    )
    error = assert_error(response, 422, "schema_violation")
    paths = {d["path"] for d in error["details"]}
    assert {"/user/id", "/user", "/tags/1"} <= paths, error["details"]
    assert all(d["message"] for d in error["details"])
    good = {"user": {"id": 7, "email": "a@b.c"}}
    assert (await api.event(ws, "user.created", good))["type"] == "user.created"


async def test_invalid_schema_is_refused(api: Api) -> None:
    body = {"name": "x.y", "schema": {"type": "objectish"}}
    assert_error(await api.post("/v1/event-types", json=body), 422, "invalid_schema")


async def test_unregistered_types_are_accepted_by_default(api: Api, ws: str) -> None:
    assert (await api.event(ws, "never.registered"))["type"] == "never.registered"


async def test_strict_mode_rejects_unknown_event_types(make_api: MakeApi) -> None:
    api = await make_api(strict_event_types=True)
    await api.workspace(id="acme")
    body = {"type": "never.registered", "data": {}}
    response = await api.post("/v1/workspaces/acme/events", json=body)
    assert_error(response, 422, "unknown_event_type")
    await api.ok("POST", "/v1/event-types", 201, json={"name": "never.registered"})
    assert (await api.event("acme", "never.registered"))["deliveries"] == 0
    await api.ok("DELETE", "/v1/event-types/never.registered")
    response = await api.post("/v1/workspaces/acme/events", json=body)
    assert_error(response, 422, "unknown_event_type")


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"type": "a.b", "data": {}',
        b"not json",
        b'{"type": "a.b", "data": {"x": NaN}}',
        b'{"type": "a.b", "data": {"x": -Infinity}}',
        b'{"type": "a.b", "data": {"x": "\xff"}}',
    ],
)
async def test_malformed_json_is_400(api: Api, ws: str, body: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    for path in (f"/v1/workspaces/{ws}/events", f"/v1/workspaces/{ws}/events/batch"):
        response = await api.post(path, content=body, headers=headers)
        assert_error(response, 400, "malformed_json")
    for path in (f"/v1/workspaces/{ws}/webhooks", "/v1/workspaces", "/v1/event-types"):
        response = await api.post(path, content=body, headers=headers)
        assert_error(response, 400, "malformed_json")


@pytest.mark.parametrize(
    "body", [b"{", b"not json", b'{"x": NaN}', b'{"x": "\xff"}', b"\xff\xfe", b"[1, Infinity]"]
)
async def test_action_routes_refuse_malformed_bodies(api: Api, ws: str, body: bytes) -> None:
    """Test ping and resend take no body, but a malformed one is 400 as on every other route."""
    hook = await api.webhook(ws)
    event = await api.event(ws)
    await api.settle()
    deliveries = await api.ok("GET", f"/v1/events/{event['id']}")
    dlv_id = deliveries["deliveries"][0]["id"]
    headers = {"Content-Type": "application/json"}
    for path in (f"/v1/webhooks/{hook['id']}/test", f"/v1/deliveries/{dlv_id}/resend"):
        response = await api.post(path, content=body, headers=headers)
        assert_error(response, 400, "malformed_json")
        response = await api.post(path, json={"unexpected": 1})
        assert_error(response, 422, "validation_error")
    resent = await api.post(f"/v1/deliveries/{dlv_id}/resend", json={})
    assert resent.status_code == 202, resent.text


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"data": {}}, "invalid_event_type"),
        ({"type": "", "data": {}}, "invalid_event_type"),
        ({"type": "has space", "data": {}}, "invalid_event_type"),
        ({"type": "a.b"}, "invalid_data"),
        ({"type": "a.b", "data": [1]}, "invalid_data"),
        ({"type": "a.b", "data": "x"}, "invalid_data"),
        ({"type": "a.b", "data": {}, "id": "has space"}, "invalid_id"),
        ({"type": "a.b", "data": {}, "id": "x" * 129}, "invalid_id"),
        ({"type": "a.b", "data": {}, "extra": 1}, "invalid_event"),
        ([], "invalid_event"),
    ],
)
async def test_invalid_events_are_422(api: Api, ws: str, body: Any, code: str) -> None:
    assert_error(await api.post(f"/v1/workspaces/{ws}/events", json=body), 422, code)


async def test_idempotent_repeat_returns_the_original_with_200(api: Api, ws: str) -> None:
    await create_hook(api, ws)
    first = await api.event(ws, "a.b", {"n": 1}, id="order-1")
    assert first["id"] == "order-1"
    assert first["deliveries"] == 1
    again = await api.ok(
        "POST",
        f"/v1/workspaces/{ws}/events",
        200,
        json={"type": "a.b", "data": {"n": 2}, "id": "order-1"},
    )
    assert again == first
    by_header = await api.ok(
        "POST",
        f"/v1/workspaces/{ws}/events",
        200,
        json={"type": "a.b", "data": {"n": 3}},
        headers={"Idempotency-Key": "order-1"},
    )
    assert by_header == first
    events = await api.ok("GET", f"/v1/workspaces/{ws}/events")
    assert [e["data"] for e in events] == [{"n": 1}]


async def test_batch_results_come_back_in_order(api: Api, ws: str) -> None:
    await create_hook(api, ws)
    await api.ok("POST", "/v1/event-types", 201, json={"name": "user.created", "schema": SCHEMA})
    await api.event(ws, "a.b", id="dup-1")
    events = [
        {"type": "a.b", "data": {"i": 0}},
        {"type": "user.created", "data": {"user": {"id": "x"}}},
        {"type": "a.b", "data": {"i": 2}, "id": "dup-1"},
        {"type": "bad type", "data": {}},
        {"type": "a.b", "data": {"i": 4}, "id": "new-4"},
        "not an object",
    ]
    results = await api.ok("POST", f"/v1/workspaces/{ws}/events/batch", json={"events": events})
    assert [(r["ok"], r["status"]) for r in results] == [
        (True, 202),
        (False, 422),
        (True, 200),
        (False, 422),
        (True, 202),
        (False, 422),
    ]
    assert results[0]["data"]["id"].startswith("evt_")
    assert results[0]["data"]["deliveries"] == 1
    assert results[1]["error"]["code"] == "schema_violation"
    assert results[1]["error"]["details"]
    assert results[2]["data"]["id"] == "dup-1"
    assert results[3]["error"]["code"] == "invalid_event_type"
    assert results[4]["data"]["id"] == "new-4"
    for item in results:
        assert item.get("data") or item["error"]["message"]
    stored = await api.ok("GET", f"/v1/workspaces/{ws}/events")
    assert len(stored) == 3


@pytest.mark.parametrize("body", [{"events": []}, {"events": "x"}, {}, {"events": [{}] * 1001}])
async def test_bad_batches_are_422(api: Api, ws: str, body: Any) -> None:
    assert_error(await api.post(f"/v1/workspaces/{ws}/events/batch", json=body), 422)


# -- secrets ----------------------------------------------------------------------


async def test_secret_is_only_in_the_secret_route(api: Api, ws: str) -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    created = await create_hook(api, ws, secret=secret)
    hook_id = created.json()["data"]["id"]
    texts = [
        created.text,
        (await api.get(f"/v1/webhooks/{hook_id}")).text,
        (await api.get(f"/v1/workspaces/{ws}/webhooks")).text,
        (await api.patch(f"/v1/webhooks/{hook_id}", json={"name": "n"})).text,
    ]
    for text in texts:
        assert secret not in text
        assert "secret" not in json.loads(text)["data"]
    assert (await api.ok("GET", f"/v1/webhooks/{hook_id}/secret"))["secret"] == secret


async def test_generated_secret_is_whsec_base64_of_32_bytes(api: Api, ws: str) -> None:
    hook_id = (await create_hook(api, ws)).json()["data"]["id"]
    secret = (await api.ok("GET", f"/v1/webhooks/{hook_id}/secret"))["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


async def test_secret_is_encrypted_at_rest(api: Api, ws: str) -> None:
    secret = "whsec_" + base64.b64encode(b"s" * 32).decode()
    await create_hook(api, ws, secret=secret)
    database = api.settings.sqlite_path.read_bytes()
    assert secret.encode() not in database
    assert secret.removeprefix("whsec_").encode() not in database


# -- webhook responses ------------------------------------------------------------


async def test_webhook_response_has_every_field(api: Api, ws: str) -> None:
    body = {
        "url": HOOK,
        "name": "CRM sync",
        "description": "d",
        "events": ["course.completed", "content/*"],
        "headers": {"Authorization": "Bearer abc"},
        "retryPolicy": {"schedule": [0, 1.5]},
        "rateLimit": 5,
        "ordering": "fifo",
        "metadata": {"k": "v"},
    }
    data = await api.ok("POST", f"/v1/workspaces/{ws}/webhooks", 201, json=body)
    for key, value in body.items():
        assert data[key] == value, key
    assert data["id"].startswith("wh_")
    assert data["workspaceId"] == ws
    assert data["status"] == "active"
    assert data["statusReason"] is None
    assert data["statusChangedBy"] == "admin"
    for key in ("statusChangedAt", "createdAt", "updatedAt"):
        assert TIME_RE.fullmatch(data[key]), key


async def test_status_changes_record_who_and_when(api: Api, ws: str) -> None:
    owner = await api.key(ws, "owner")
    keys = await api.ok("GET", f"/v1/workspaces/{ws}/api-keys")
    hook_id = (await create_hook(api, ws)).json()["data"]["id"]
    data = await api.ok(
        "PATCH",
        f"/v1/webhooks/{hook_id}",
        json={"status": "disabled", "statusReason": "maintenance"},
        key=owner,
    )
    assert data["status"] == "disabled"
    assert data["statusReason"] == "maintenance"
    assert data["statusChangedBy"] == keys[0]["id"]
    assert TIME_RE.fullmatch(data["statusChangedAt"])


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"retryPolicy": {"schedule": "soon"}}, "invalid_retry_policy"),
        ({"rateLimit": 0}, "invalid_rate_limit"),
        ({"rateLimit": -1}, "invalid_rate_limit"),
        ({"secret": "short"}, "invalid_secret"),
        ({"secret": "has space in it"}, "invalid_secret"),
        ({"ordering": "lifo"}, None),
        ({"status": "sleeping"}, None),
        ({"unknownField": 1}, None),
    ],
)
async def test_invalid_webhook_fields_are_422(
    api: Api, ws: str, body: dict[str, Any], code: str | None
) -> None:
    assert_error(await create_hook(api, ws, **body), 422, code)


# -- inputs that once broke the API -----------------------------------------------


@pytest.mark.parametrize("value", ["99999999999999999999", "1e400", "10000-01-01T00:00:00Z"])
async def test_times_out_of_range_are_422(api: Api, ws: str, value: str) -> None:
    hook = (await create_hook(api, ws)).json()["data"]["id"]
    for path in (f"/v1/workspaces/{ws}/deliveries", f"/v1/workspaces/{ws}/events"):
        assert_error(await api.get(path, params={"until": value}), 422, "invalid_time")
    response = await api.post(f"/v1/webhooks/{hook}/recover", json={"since": value})
    assert_error(response, 422, "invalid_time")


async def test_lone_surrogates_are_kept_and_served(api: Api, ws: str) -> None:
    """JSON may carry a lone surrogate; UTF-8 cannot, so responses write it escaped."""
    headers = {"Content-Type": "application/json"}
    body = b'{"type": "a.b", "id": "s-1", "data": {"s": "\\ud800", "ok": "\\u00e9"}}'
    response = await api.post(f"/v1/workspaces/{ws}/events", content=body, headers=headers)
    assert response.status_code == 202, response.text
    body = b'{"url": "https://example.com/", "events": ["*"], "metadata": {"s": "\\udc00"}}'
    response = await api.post(f"/v1/workspaces/{ws}/webhooks", content=body, headers=headers)
    assert response.status_code == 201, response.text
    assert (await api.ok("GET", "/v1/events/s-1"))["data"] == {"s": "\ud800", "ok": "é"}
    assert (await api.ok("GET", f"/v1/workspaces/{ws}/events"))[0]["data"]["s"] == "\ud800"
    assert (await api.ok("GET", f"/v1/workspaces/{ws}/webhooks"))[0]["metadata"] == {"s": "\udc00"}


async def test_deep_nesting_is_malformed_json(api: Api, ws: str) -> None:
    headers = {"Content-Type": "application/json"}
    for path in (f"/v1/workspaces/{ws}/events", "/v1/workspaces"):
        response = await api.post(path, content=b"[" * 100_000, headers=headers)
        assert_error(response, 400, "malformed_json")


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "http://169.254.169.254/latest/meta-data"},
        {"properties": {"a": {"$ref": "other.json#/a"}}},
        {"properties": {"a": {"$ref": "#/$defs/missing"}}},
    ],
)
async def test_schemas_may_only_ref_themselves(api: Api, schema: dict[str, Any]) -> None:
    response = await api.post("/v1/event-types", json={"name": "x.y", "schema": schema})
    assert_error(response, 422, "invalid_schema")


async def test_local_refs_work(api: Api, ws: str) -> None:
    schema = {
        "$defs": {"id": {"type": "integer"}},
        "type": "object",
        "properties": {"id": {"$ref": "#/$defs/id"}},
    }
    await api.ok("POST", "/v1/event-types", 201, json={"name": "x.y", "schema": schema})
    assert (await api.event(ws, "x.y", {"id": 1}))["type"] == "x.y"
    response = await api.post(
        f"/v1/workspaces/{ws}/events", json={"type": "x.y", "data": {"id": "one"}}
    )
    error = assert_error(response, 422, "schema_violation")
    assert error["details"][0]["path"] == "/id"


async def test_event_type_names_with_slashes(api: Api) -> None:
    name = "course/completion/create"
    created = await api.ok("POST", "/v1/event-types", 201, json={"name": name})
    assert created["category"] == "course"
    assert (await api.ok("GET", f"/v1/event-types/{name}"))["name"] == name
    patched = await api.ok("PATCH", f"/v1/event-types/{name}", json={"description": "d"})
    assert patched["description"] == "d"
    assert (await api.ok("DELETE", f"/v1/event-types/{name}"))["archived"] is True
    assert await api.ok("GET", "/v1/event-types") == []
    listed = await api.ok("GET", "/v1/event-types", params={"includeArchived": "true"})
    assert [t["name"] for t in listed] == [name]


async def test_owner_may_send_a_null_plan(api: Api, ws: str) -> None:
    owner = await api.key(ws, "owner")
    data = await api.ok(
        "PATCH", f"/v1/workspaces/{ws}", json={"plan": None, "name": "N"}, key=owner
    )
    assert (data["plan"], data["name"]) == ("free", "N")
