"""Reading back: pagination, Send Logs filters, resend and recover, formats and shapes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.app import TIME_RE, Api, assert_error, create_hook

# -- pagination -------------------------------------------------------------------


async def collect(api: Api, path: str, limit: int) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        body = (await api.get(path, params=params)).json()
        assert body["ok"] is True
        assert set(body) == {"ok", "data", "nextCursor"}
        pages.append(body["data"])
        cursor = body["nextCursor"]
        if cursor is None:
            return pages
        assert isinstance(cursor, str) and cursor
        assert len(pages) < 20


async def test_cursor_pagination_is_newest_first(api: Api, ws: str) -> None:
    made = [(await create_hook(api, ws, name=f"h{i}")).json()["data"]["id"] for i in range(5)]
    pages = await collect(api, f"/v1/workspaces/{ws}/webhooks", 2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [h["id"] for p in pages for h in p] == made[::-1]
    everything = await api.ok("GET", f"/v1/workspaces/{ws}/webhooks")
    assert [h["id"] for h in everything] == made[::-1]
    assert [h["id"] for h in (await collect(api, f"/v1/workspaces/{ws}/webhooks", 5))[0]] == (
        made[::-1]
    )


async def test_every_list_paginates(api: Api, ws: str) -> None:
    hook = (await create_hook(api, ws)).json()["data"]["id"]
    sent = [(await api.event(ws, "a.b", {"i": i}))["id"] for i in range(3)]
    for i in range(3):
        await api.workspace(name=f"w{i}")
        await api.key(ws, "member")
        await api.ok("POST", "/v1/event-types", 201, json={"name": f"t.{i}"})
    lists = {
        "/v1/workspaces": 4,
        f"/v1/workspaces/{ws}/api-keys": 3,
        "/v1/event-types": 3,
        f"/v1/workspaces/{ws}/events": 3,
        f"/v1/workspaces/{ws}/deliveries": 3,
        f"/v1/webhooks/{hook}/deliveries": 3,
    }
    for path, count in lists.items():
        pages = await collect(api, path, 1)
        assert [len(p) for p in pages] == [1] * count, path
        items = [p[0] for p in pages]
        assert len({i.get("id", i.get("name")) for i in items}) == count, path
        created = [i["createdAt"] for i in items]
        assert created == sorted(created, reverse=True), path
    events = [p[0]["id"] for p in await collect(api, f"/v1/workspaces/{ws}/events", 2)]
    assert events[0] == sent[-1]


@pytest.mark.parametrize("limit", ["0", "251", "-1", "x"])
async def test_limit_is_1_to_250(api: Api, ws: str, limit: str) -> None:
    response = await api.get(f"/v1/workspaces/{ws}/webhooks", params={"limit": limit})
    assert_error(response, 422)


async def test_limit_defaults_to_50(api: Api, ws: str) -> None:
    for i in range(55):
        await api.event(ws, "a.b", {"i": i})
    body = (await api.get(f"/v1/workspaces/{ws}/events")).json()
    assert len(body["data"]) == 50
    assert body["nextCursor"]
    body = (await api.get(f"/v1/workspaces/{ws}/events", params={"limit": 250})).json()
    assert len(body["data"]) == 55
    assert body["nextCursor"] is None


@pytest.mark.parametrize("cursor", ["garbage", "0", "~", "%", "-5", "99999999999999999999999"])
async def test_a_bad_cursor_is_not_a_500(api: Api, ws: str, cursor: str) -> None:
    await create_hook(api, ws)
    for path in (f"/v1/workspaces/{ws}/webhooks", "/v1/workspaces", f"/v1/workspaces/{ws}/events"):
        response = await api.get(path, params={"cursor": cursor})
        assert response.status_code in (200, 400, 422), (path, response.text)


# -- deliveries -------------------------------------------------------------------


async def test_delivery_filters(api: Api, ws: str) -> None:
    hook = (await create_hook(api, ws)).json()["data"]["id"]
    other = (await create_hook(api, ws, events=["order.*"])).json()["data"]["id"]
    first = await api.event(ws, "user.created", {"email": "ada@example.com"})
    await api.settle(200)
    second = await api.event(ws, "order.paid", {"total": 42, "note": "needle-in-payload"})
    await api.settle(500)
    third = await api.event(ws, "order.shipped", {"carrier": "post"})
    logs = f"/v1/webhooks/{hook}/deliveries"

    async def ids(path: str = logs, **params: Any) -> list[str]:
        return [d["eventId"] for d in await api.ok("GET", path, params=params)]

    assert await ids() == [third["id"], second["id"], first["id"]]
    assert await ids(status="succeeded") == [first["id"]]
    assert await ids(status="failed") == [second["id"]]
    assert await ids(status="pending") == [third["id"]]
    assert await ids(status="held") == []
    assert await ids(eventType="order.paid") == [second["id"]]
    assert await ids(eventId=first["id"]) == [first["id"]]
    assert await ids(q="needle-in") == [second["id"]]
    assert await ids(q="ada@example") == [first["id"]]
    assert await ids(q="order.sh") == [third["id"]]
    assert await ids(q=second["id"]) == [second["id"]]
    assert await ids(q="%") == []
    assert await ids(q="_") == [third["id"], second["id"], first["id"]]
    assert await ids(f"/v1/webhooks/{other}/deliveries") == [third["id"], second["id"]]
    workspace_logs = f"/v1/workspaces/{ws}/deliveries"
    assert len(await ids(workspace_logs)) == 5
    assert await ids(workspace_logs, eventType="order.paid") == [second["id"], second["id"]]
    assert await ids(workspace_logs, status="failed", q="needle") == [second["id"], second["id"]]

    deliveries = await api.ok("GET", logs)
    middle = deliveries[1]["createdAt"]
    since = await api.ok("GET", logs, params={"since": middle})
    assert deliveries[1]["id"] in {d["id"] for d in since}
    assert all(d["createdAt"] >= middle for d in since)
    until = await api.ok("GET", logs, params={"until": middle})
    assert deliveries[1]["id"] not in {d["id"] for d in until}
    assert all(d["createdAt"] < middle for d in until)
    assert deliveries[2]["id"] in {d["id"] for d in until}
    window = await api.ok("GET", logs, params={"since": "2000-01-01T00:00:00Z", "until": middle})
    assert window == until
    assert await ids(since="2100-01-01T00:00:00.000Z") == []


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00Z", "2026-03-18T25:00:00Z"])
async def test_bad_times_are_422(api: Api, ws: str, value: str) -> None:
    hook = (await create_hook(api, ws)).json()["data"]["id"]
    for path in (f"/v1/webhooks/{hook}/deliveries", f"/v1/workspaces/{ws}/events"):
        assert_error(await api.get(path, params={"since": value}), 422, "invalid_time")
    response = await api.post(f"/v1/webhooks/{hook}/recover", json={"since": value})
    assert_error(response, 422, "invalid_time")


@pytest.mark.parametrize("status", ["done", "PENDING"])
async def test_bad_status_filter_is_422(api: Api, ws: str, status: str) -> None:
    hook = (await create_hook(api, ws)).json()["data"]["id"]
    assert_error(await api.get(f"/v1/webhooks/{hook}/deliveries", params={"status": status}), 422)


async def test_delivery_detail_has_the_payload_and_attempts(api: Api, ws: str) -> None:
    hook = (await create_hook(api, ws)).json()["data"]["id"]
    event = await api.event(ws, "a.b", {"big": 12345678901234567890, "x": 1.5})
    await api.settle(503)
    (delivery,) = await api.ok("GET", f"/v1/webhooks/{hook}/deliveries")
    assert delivery["status"] == "failed"
    assert delivery["attemptCount"] == 1
    assert delivery["lastStatusCode"] == 503
    assert delivery["nextAttemptAt"] is None
    assert TIME_RE.fullmatch(delivery["completedAt"])
    detail = await api.ok("GET", f"/v1/deliveries/{delivery['id']}")
    assert detail["event"]["id"] == event["id"]
    assert detail["event"]["data"]["x"] == 1.5
    (attempt,) = detail["attempts"]
    assert attempt["id"].startswith("att_")
    assert attempt["number"] == 1
    assert attempt["outcome"] == "failure"
    assert attempt["response"]["status"] == 503
    assert attempt["request"]["method"] == "POST"
    assert TIME_RE.fullmatch(attempt["startedAt"])
    assert {k for k in delivery} == {k for k in detail} - {"event", "attempts"}


async def test_resend_and_recover(api: Api, ws: str) -> None:
    hook = (await create_hook(api, ws)).json()["data"]["id"]
    await api.event(ws, "a.b", {"n": 1})
    (pending,) = await api.ok("GET", f"/v1/webhooks/{hook}/deliveries")
    response = await api.post(f"/v1/deliveries/{pending['id']}/resend")
    assert_error(response, 409, "delivery_in_progress")
    await api.settle(500)
    resent = await api.ok("POST", f"/v1/deliveries/{pending['id']}/resend", 202)
    assert resent["resentFrom"] == pending["id"]
    assert resent["tags"] == ["resent"]
    assert resent["eventId"] == pending["eventId"]
    assert resent["id"] != pending["id"] and resent["id"].startswith("dlv_")
    await api.settle(500)
    count = await api.ok(
        "POST", f"/v1/webhooks/{hook}/recover", 202, json={"since": "2000-01-01T00:00:00Z"}
    )
    assert count == {"count": 2}
    recovered = await api.ok("GET", f"/v1/webhooks/{hook}/deliveries", params={"status": "pending"})
    assert len(recovered) == 2
    assert all(d["tags"] == ["recovered"] for d in recovered)
    await api.ok("PATCH", f"/v1/webhooks/{hook}", json={"status": "disabled"})
    response = await api.post(f"/v1/deliveries/{pending['id']}/resend")
    assert_error(response, 409, "webhook_disabled")


async def test_recover_window_must_make_sense(api: Api, ws: str) -> None:
    hook = (await create_hook(api, ws)).json()["data"]["id"]
    body = {"since": "2026-03-18T10:00:00Z", "until": "2026-03-18T09:00:00Z"}
    assert_error(await api.post(f"/v1/webhooks/{hook}/recover", json=body), 422)
    body = {"since": "2026-03-18T10:00:00Z", "statuses": ["pending"]}
    assert_error(await api.post(f"/v1/webhooks/{hook}/recover", json=body), 422)
    assert_error(await api.post(f"/v1/webhooks/{hook}/recover", json={}), 422)


async def test_test_ping_returns_the_delivery_with_its_first_attempt(api: Api, ws: str) -> None:
    hook = (await create_hook(api, ws)).json()["data"]["id"]
    api.deliver_on_wake(204)
    data = await api.ok("POST", f"/v1/webhooks/{hook}/test")
    assert data["eventType"] == "test"
    assert data["tags"] == ["test"]
    assert data["status"] == "succeeded"
    assert [a["response"]["status"] for a in data["attempts"]] == [204]


# -- formats ----------------------------------------------------------------------

ID_RE = {
    "ws": re.compile(r"ws_[0-9A-HJKMNP-TV-Z]{26}"),
    "wh": re.compile(r"wh_[0-9A-HJKMNP-TV-Z]{26}"),
    "evt": re.compile(r"evt_[0-9A-HJKMNP-TV-Z]{26}"),
    "dlv": re.compile(r"dlv_[0-9A-HJKMNP-TV-Z]{26}"),
    "key": re.compile(r"key_[0-9A-HJKMNP-TV-Z]{26}"),
    "att": re.compile(r"att_[0-9A-HJKMNP-TV-Z]{26}"),
}
TIME_KEYS = {
    "createdAt",
    "updatedAt",
    "statusChangedAt",
    "completedAt",
    "nextAttemptAt",
    "startedAt",
    "expiresAt",
}


def times_in(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in TIME_KEYS and item is not None:
                found.append(item)
            elif key != "data" or not isinstance(item, dict) or "type" not in value:
                found += times_in(item)
    elif isinstance(value, list):
        for item in value:
            found += times_in(item)
    return found


async def test_ids_are_prefixed_and_times_have_milliseconds(api: Api) -> None:
    ws = (await api.workspace(name="No id"))["id"]
    assert ID_RE["ws"].fullmatch(ws)
    key = await api.ok(
        "POST", f"/v1/workspaces/{ws}/api-keys", 201, json={"name": "k", "role": "admin"}
    )
    assert ID_RE["key"].fullmatch(key["id"])
    assert key["key"].startswith("hk_")
    hook = (await create_hook(api, ws)).json()["data"]
    assert ID_RE["wh"].fullmatch(hook["id"])
    event = await api.event(ws, "a.b", {"createdAt": "not a time of ours"})
    assert ID_RE["evt"].fullmatch(event["id"])
    await api.settle()
    (delivery,) = await api.ok("GET", f"/v1/workspaces/{ws}/deliveries")
    assert ID_RE["dlv"].fullmatch(delivery["id"])
    detail = await api.ok("GET", f"/v1/deliveries/{delivery['id']}")
    assert ID_RE["att"].fullmatch(detail["attempts"][0]["id"])
    bodies = [
        await api.ok("GET", f"/v1/workspaces/{ws}"),
        key,
        hook,
        event,
        detail,
        await api.ok("GET", f"/v1/events/{event['id']}"),
        await api.ok("GET", "/v1/event-types"),
    ]
    stamps = times_in(bodies)
    assert len(stamps) >= 10
    for stamp in stamps:
        assert TIME_RE.fullmatch(stamp), stamp


async def test_custom_workspace_ids(api: Api) -> None:
    assert (await api.workspace(id="Org_42-x"))["id"] == "Org_42-x"
    assert_error(await api.post("/v1/workspaces", json={"id": "Org_42-x", "name": "x"}), 409)
    for bad in ("has space", "x" * 65, "a/b", "é"):
        response = await api.post("/v1/workspaces", json={"id": bad, "name": "x"})
        assert_error(response, 422, "invalid_id")


async def test_unknown_resources_are_404(api: Api) -> None:
    for path in (
        "/v1/workspaces/nope",
        "/v1/webhooks/wh_nope",
        "/v1/deliveries/dlv_nope",
        "/v1/events/evt_nope",
        "/v1/event-types/nope",
        "/v1/workspaces/nope/webhooks",
    ):
        assert_error(await api.get(path), 404, "not_found")
    assert_error(await api.delete("/v1/api-keys/key_nope"), 404, "not_found")
    assert_error(await api.get("/v1/no-such-route"), 404)
    response = await api.request("PUT", "/v1/workspaces")
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


# -- shapes and states ------------------------------------------------------------

DELIVERY_KEYS = {
    "id",
    "eventId",
    "eventType",
    "webhookId",
    "workspaceId",
    "status",
    "attemptCount",
    "nextAttemptAt",
    "lastStatusCode",
    "lastError",
    "stuck",
    "createdAt",
    "completedAt",
    "expiresAt",
    "resentFrom",
    "tags",
}
WEBHOOK_KEYS = {
    "id",
    "workspaceId",
    "url",
    "name",
    "description",
    "events",
    "headers",
    "forwardHeadersOnRedirect",
    "status",
    "statusReason",
    "statusChangedBy",
    "statusChangedAt",
    "retryPolicy",
    "rateLimit",
    "ordering",
    "metadata",
    "filter",
    "channels",
    "destination",
    "auth",
    "createdAt",
    "updatedAt",
}


async def test_response_shapes(api: Api, ws: str) -> None:
    hook = (await create_hook(api, ws)).json()["data"]
    assert set(hook) == WEBHOOK_KEYS
    accepted = await api.event(ws, "message.created", {"text": "hi"})
    assert set(accepted) == {"id", "type", "workspaceId", "createdAt", "deliveries"}
    assert (accepted["type"], accepted["workspaceId"], accepted["deliveries"]) == (
        "message.created",
        ws,
        1,
    )
    await api.settle(200)
    (delivery,) = await api.ok("GET", f"/v1/webhooks/{hook['id']}/deliveries")
    assert set(delivery) == DELIVERY_KEYS
    assert (delivery["status"], delivery["tags"], delivery["resentFrom"]) == ("succeeded", [], None)
    detail = await api.ok("GET", f"/v1/deliveries/{delivery['id']}")
    assert set(detail) == DELIVERY_KEYS | {"event", "attempts"}
    (attempt,) = detail["attempts"]
    assert set(attempt) == {
        "id",
        "number",
        "startedAt",
        "durationMs",
        "request",
        "response",
        "error",
        "outcome",
    }
    assert set(attempt["request"]) == {"method", "url", "headers", "body"}
    assert set(attempt["response"]) == {"status", "headers", "body", "truncated"}
    event = await api.ok("GET", f"/v1/events/{accepted['id']}")
    assert event["data"] == {"text": "hi"}
    assert [d["id"] for d in event["deliveries"]] == [delivery["id"]]
    key = await api.ok(
        "POST", f"/v1/workspaces/{ws}/api-keys", 201, json={"name": "ci", "role": "publisher"}
    )
    assert {"id", "name", "role", "key"} <= set(key)
    et = await api.ok("POST", "/v1/event-types", 201, json={"name": "message.created"})
    assert et["category"] == "message"
    await api.ok("POST", "/v1/event-types", 201, json={"name": "b.x", "category": "billing"})
    listed = await api.ok("GET", "/v1/event-types", params={"category": "billing"})
    assert [t["name"] for t in listed] == ["b.x"]


async def test_paused_holds_and_disabled_skips(api: Api, ws: str) -> None:
    hook = (await create_hook(api, ws)).json()["data"]["id"]
    path = f"/v1/webhooks/{hook}"
    await api.ok("PATCH", path, json={"status": "paused"})
    first = await api.event(ws, "a.b")
    assert first["deliveries"] == 1
    (held,) = await api.ok("GET", f"{path}/deliveries")
    assert held["status"] == "held"
    await api.ok("PATCH", path, json={"status": "active"})
    (pending,) = await api.ok("GET", f"{path}/deliveries")
    assert pending["status"] == "pending"
    await api.ok("PATCH", path, json={"status": "disabled"})
    assert (await api.event(ws, "a.b"))["deliveries"] == 0
    response = await api.post(f"{path}/test")
    assert_error(response, 409, "webhook_disabled")


async def test_events_filter_by_type_and_time(api: Api, ws: str) -> None:
    first = await api.event(ws, "a.one")
    second = await api.event(ws, "a.two")
    path = f"/v1/workspaces/{ws}/events"
    assert [e["id"] for e in await api.ok("GET", path, params={"type": "a.one"})] == [first["id"]]
    after = await api.ok("GET", path, params={"since": second["createdAt"]})
    assert second["id"] in [e["id"] for e in after]
    before = await api.ok("GET", path, params={"until": second["createdAt"]})
    assert second["id"] not in [e["id"] for e in before]


async def test_deleting_a_webhook_deletes_its_logs(api: Api, ws: str) -> None:
    hook = (await create_hook(api, ws)).json()["data"]["id"]
    await api.event(ws, "a.b")
    await api.settle()
    (delivery,) = await api.ok("GET", f"/v1/webhooks/{hook}/deliveries")
    deleted = await api.ok("DELETE", f"/v1/webhooks/{hook}")
    assert deleted == {"id": hook, "deleted": True}
    assert_error(await api.get(f"/v1/webhooks/{hook}"), 404, "not_found")
    assert_error(await api.get(f"/v1/deliveries/{delivery['id']}"), 404, "not_found")
    assert await api.ok("GET", f"/v1/workspaces/{ws}/deliveries") == []
    assert_error(await api.delete(f"/v1/webhooks/{hook}"), 404, "not_found")
