"""Who may call what: every route of the app against every kind of caller.

The table below has one row per route of the app; a route added without a row
fails ``test_every_route_has_a_row``. Each row says which roles of the
workspace a route addresses may use it; everyone else gets 403, a key of
another workspace gets 404 (as if the resource did not exist), and a missing or
unknown key gets 401 — always in the error envelope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import fastapi.routing
import httpx
import pytest
from support.app import ADMIN_KEY, Api, MakeApi, assert_error

ROLES = ("owner", "admin", "member", "publisher")
READERS = frozenset({"owner", "admin", "member"})
MANAGERS = frozenset({"owner", "admin"})
PUBLISHERS = frozenset({"owner", "admin", "publisher"})
OWNER = frozenset({"owner"})
NOBODY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    roles: frozenset[str]
    ok: int = 200
    body: Any = None
    scoped: bool = True  # addresses one workspace's resources (else: deployment-wide)
    # A path parameter filled with another of the world's ids (a pending delivery's, say).
    same_as: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


ROWS = [
    # workspaces and keys
    Row("POST", "/v1/workspaces", NOBODY, 201, {"name": "New"}, scoped=False),
    Row("GET", "/v1/workspaces", READERS, scoped=False),
    Row("GET", "/v1/workspaces/{wId}", READERS),
    Row("PATCH", "/v1/workspaces/{wId}", OWNER, body={"name": "Renamed"}),
    Row("DELETE", "/v1/workspaces/{wId}", NOBODY),
    Row("POST", "/v1/workspaces/{wId}/api-keys", OWNER, 201, {"name": "k", "role": "member"}),
    Row("GET", "/v1/workspaces/{wId}/api-keys", OWNER),
    Row("DELETE", "/v1/api-keys/{keyId}", OWNER),
    Row("POST", "/v1/workspaces/{wId}/portal-link", MANAGERS),
    # the event catalog
    Row("POST", "/v1/event-types", NOBODY, 201, {"name": "fresh.type"}, scoped=False),
    Row("GET", "/v1/event-types", READERS, scoped=False),
    Row("GET", "/v1/event-types/{name}", READERS, scoped=False),
    Row("PATCH", "/v1/event-types/{name}", NOBODY, body={"description": "x"}, scoped=False),
    Row("DELETE", "/v1/event-types/{name}", NOBODY, scoped=False),
    # webhooks
    Row(
        "POST",
        "/v1/workspaces/{wId}/webhooks",
        MANAGERS,
        201,
        {"url": "https://example.com/other", "events": ["*"]},
    ),
    Row("GET", "/v1/workspaces/{wId}/webhooks", READERS),
    Row("GET", "/v1/webhooks/{whId}", READERS),
    Row("PATCH", "/v1/webhooks/{whId}", MANAGERS, body={"name": "renamed"}),
    Row("DELETE", "/v1/webhooks/{whId}", MANAGERS),
    Row("GET", "/v1/webhooks/{whId}/secret", MANAGERS),
    Row("POST", "/v1/webhooks/{whId}/secret/rotate", MANAGERS),
    Row("POST", "/v1/webhooks/{whId}/test", MANAGERS),
    Row("POST", "/v1/webhooks/{whId}/recover", MANAGERS, 202, {"since": "2020-01-01T00:00:00Z"}),
    Row("GET", "/v1/webhooks/{whId}/deliveries", READERS),
    # events
    Row("POST", "/v1/workspaces/{wId}/events", PUBLISHERS, 202, {"type": "a.b", "data": {}}),
    Row(
        "POST",
        "/v1/workspaces/{wId}/events/batch",
        PUBLISHERS,
        200,
        {"events": [{"type": "a.b", "data": {}}]},
    ),
    Row("GET", "/v1/workspaces/{wId}/events", READERS),
    Row("GET", "/v1/events/{eventId}", READERS),
    # deliveries
    Row("GET", "/v1/workspaces/{wId}/deliveries", READERS),
    Row("GET", "/v1/deliveries/{dlvId}", READERS),
    Row("POST", "/v1/deliveries/{dlvId}/resend", MANAGERS, 202),
    Row("POST", "/v1/deliveries/{dlvId}/retry", MANAGERS, 202, same_as={"dlvId": "pendingId"}),
    # the deployment
    Row("GET", "/v1/config", NOBODY, scoped=False),
]

# Routes anyone may call without a key.
PUBLIC = {
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /openapi.json",
    "GET /docs",
    "GET /docs/oauth2-redirect",
    "MOUNT /docs-assets",
    "GET /",
    "GET /favicon.ico",
}

# Callers: the admin key, each role of workspace A (which the rows address) and
# of workspace B, no key, and a key nobody issued.
CALLERS = (
    "root",
    *(f"A:{r}" for r in ROLES),
    *(f"B:{r}" for r in ROLES),
    "none",
    "unknown",
    "not-bearer",
)


@dataclass
class World:
    """Workspace A with one of everything, workspace B, and a key of every role in both."""

    api: Api
    ids: dict[str, str]
    keys: dict[str, str] = field(default_factory=dict)

    def url(self, row: Row) -> str:
        return row.path.format(**{**self.ids, **{k: self.ids[v] for k, v in row.same_as.items()}})

    def headers(self, caller: str) -> dict[str, str]:
        if caller == "root":
            return {"Authorization": f"Bearer {ADMIN_KEY}"}
        if caller == "none":
            return {}
        if caller == "unknown":
            return {"Authorization": "Bearer hk_nobody_issued_this_key"}
        if caller == "not-bearer":
            return {"Authorization": f"Basic {ADMIN_KEY}"}
        return {"Authorization": f"Bearer {self.keys[caller]}"}

    async def call(self, row: Row, caller: str) -> httpx.Response:
        return await self.api.client.request(
            row.method, self.url(row), headers=self.headers(caller), json=row.body
        )


async def build_world(api: Api) -> World:
    a = await api.workspace(id="ws-a", name="A")
    b = await api.workspace(id="ws-b", name="B")
    world = World(api=api, ids={"wId": a["id"]})
    for ws, label in ((a, "A"), (b, "B")):
        for role in ROLES:
            world.keys[f"{label}:{role}"] = await api.key(ws["id"], role)
    spare = await api.ok(
        "POST", f"/v1/workspaces/{a['id']}/api-keys", 201, json={"name": "spare", "role": "member"}
    )
    await api.ok("POST", "/v1/event-types", 201, json={"name": "user.created"})
    hook = await api.webhook(a["id"], events=["*"])
    await api.webhook(b["id"], events=["*"])
    event = await api.event(a["id"], "user.created", {"n": 1}, id="evt-a-1")
    await api.event(b["id"], "user.created", {"n": 2}, id="evt-b-1")
    await api.settle()
    (delivery,) = await api.ok("GET", f"/v1/webhooks/{hook['id']}/deliveries")
    await api.event(a["id"], "user.created", {"n": 3}, id="evt-a-2")
    (pending,) = await api.ok(
        "GET", f"/v1/webhooks/{hook['id']}/deliveries", params={"status": "pending"}
    )
    world.ids.update(
        whId=hook["id"],
        eventId=event["id"],
        dlvId=delivery["id"],
        pendingId=pending["id"],
        keyId=spare["id"],
        name="user.created",
    )
    api.deliver_on_wake()
    return world


def expected(row: Row, caller: str) -> int:
    if caller in ("none", "unknown", "not-bearer"):
        return 401
    if caller == "root":
        return row.ok
    space, role = caller.split(":")
    if space == "B" and row.scoped:
        return 404
    return row.ok if role in row.roles else 403


def route_ids(app: Any) -> set[str]:
    """``METHOD /path`` of every route the app serves (mounts as ``MOUNT /path``), but the
    UI's pages: they take a session, not a key (tests/ui/test_sessions.py covers them), and
    the Svix-compatible API, which calls the same services as these routes (its keys, 404s
    and 401s: tests/acceptance/test_svix_*.py)."""
    # FastAPI >= 0.120 keeps included routers unflattened; iter_route_contexts flattens them.
    flatten = getattr(fastapi.routing, "iter_route_contexts", lambda routes: routes)
    ids = set()
    for route in flatten(app.routes):
        path = str(route.path).replace(":path}", "}")
        if path == "/ui" or path.startswith(("/ui/", "/api/v1/")):
            continue
        methods = route.methods
        if methods is None:
            ids.add(f"MOUNT {path}")
        ids.update(f"{m} {path}" for m in methods or () if m != "HEAD")
    return ids


async def test_every_route_has_a_row(api: Api) -> None:
    rows = [r.id for r in ROWS]
    assert len(rows) == len(set(rows)), "a route has two rows"
    missing = route_ids(api.app) - set(rows) - PUBLIC
    assert not missing, f"routes without a row in test_access.ROWS: {sorted(missing)}"
    stale = (set(rows) | PUBLIC) - route_ids(api.app)
    assert not stale, f"rows for routes the app does not have: {sorted(stale)}"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
async def test_route_answers_each_caller(make_api: MakeApi, row: Row) -> None:
    """Denials first, in one world; each allowed change then runs in a fresh world."""
    world = await build_world(await make_api())
    allowed = [c for c in CALLERS if expected(row, c) < 400]
    for caller in CALLERS:
        if caller in allowed:
            continue
        response = await world.call(row, caller)
        assert_error(response, expected(row, caller))
    for caller in allowed:
        if row.method != "GET":
            world = await build_world(await make_api())
        response = await world.call(row, caller)
        assert response.status_code == row.ok, (caller, response.status_code, response.text)
        assert response.json()["ok"] is True


async def test_denials_leave_no_trace(api: Api) -> None:
    """A forbidden or foreign change changes nothing."""
    world = await build_world(api)
    before = {r.id: (await world.call(r, "root")).json() for r in ROWS if r.method == "GET"}
    for row in ROWS:
        if row.method == "GET":
            continue
        for caller in CALLERS:
            if expected(row, caller) >= 400:
                await world.call(row, caller)
    after = {r.id: (await world.call(r, "root")).json() for r in ROWS if r.method == "GET"}
    assert after == before


async def test_workspace_keys_see_only_their_workspace(api: Api) -> None:
    world = await build_world(api)
    for caller in ("B:owner", "B:admin", "B:member"):
        headers = world.headers(caller)
        listed = (await api.client.get("/v1/workspaces", headers=headers)).json()
        assert [w["id"] for w in listed["data"]] == ["ws-b"]
    everything = await api.ok("GET", "/v1/workspaces")
    assert {w["id"] for w in everything} == {"ws-a", "ws-b"}
    # The same caller-chosen event id in two workspaces stays apart.
    await api.event("ws-b", "user.created", {"n": 3}, id="evt-a-1")
    seen = (await api.client.get("/v1/events/evt-a-1", headers=world.headers("B:member"))).json()
    assert seen["data"]["workspaceId"] == "ws-b"
    assert seen["data"]["data"] == {"n": 3}
    seen = (await api.client.get("/v1/events/evt-a-1", headers=world.headers("A:member"))).json()
    assert seen["data"]["workspaceId"] == "ws-a"


async def test_member_reads_webhooks_without_their_secret(api: Api) -> None:
    world = await build_world(api)
    secret = (await api.ok("GET", f"/v1/webhooks/{world.ids['whId']}/secret"))["secret"]
    headers = world.headers("A:member")
    for path in (f"/v1/webhooks/{world.ids['whId']}", "/v1/workspaces/ws-a/webhooks"):
        response = await api.client.get(path, headers=headers)
        assert response.status_code == 200
        assert secret not in response.text
        assert "secret" not in response.text
    response = await api.client.get(f"/v1/webhooks/{world.ids['whId']}/secret", headers=headers)
    assert_error(response, 403, "forbidden")


async def test_publisher_sends_events_only(api: Api) -> None:
    world = await build_world(api)
    headers = world.headers("A:publisher")
    response = await api.client.post(
        "/v1/workspaces/ws-a/events", headers=headers, json={"type": "a.b", "data": {"x": 1}}
    )
    assert response.status_code == 202
    assert response.json()["data"]["deliveries"] == 1
    for row in ROWS:
        if row.id.startswith("POST /v1/workspaces/{wId}/events"):
            continue
        assert_error(await world.call(row, "A:publisher"), 403)


async def test_a_revoked_key_stops_working(api: Api) -> None:
    world = await build_world(api)
    headers = world.headers("A:member")
    assert (await api.client.get("/v1/workspaces/ws-a", headers=headers)).status_code == 200
    keys = await api.ok("GET", "/v1/workspaces/ws-a/api-keys")
    assert all("key" not in k and "hash" not in str(k) for k in keys)
    member = next(k for k in keys if k["name"] == "member key")
    await api.ok("DELETE", f"/v1/api-keys/{member['id']}")
    assert_error(await api.client.get("/v1/workspaces/ws-a", headers=headers), 401)


async def test_workspace_keys_cannot_create_workspaces_or_change_the_catalog(api: Api) -> None:
    world = await build_world(api)
    changes = [r for r in ROWS if not r.scoped and r.method != "GET"]
    assert {r.id for r in changes} == {
        "POST /v1/workspaces",
        "POST /v1/event-types",
        "PATCH /v1/event-types/{name}",
        "DELETE /v1/event-types/{name}",
    }
    for row in changes:
        for role in ROLES:
            assert_error(await world.call(row, f"A:{role}"), 403, "forbidden")
    # An owner may not move its workspace to another plan, nor delete it.
    owner = world.headers("A:owner")
    response = await api.client.patch("/v1/workspaces/ws-a", headers=owner, json={"plan": "pro"})
    assert_error(response, 403, "forbidden")
    assert_error(await api.client.delete("/v1/workspaces/ws-a", headers=owner), 403, "forbidden")


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer nope", "bearer nope", "Basic abc", "Token x"],
)
async def test_missing_or_unknown_key_is_401(api: Api, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await api.client.get("/v1/workspaces", headers=headers)
    error = assert_error(response, 401, "unauthorized")
    assert "Bearer" in error["message"] or "key" in error["message"]


async def test_public_routes_need_no_key(api: Api) -> None:
    for path in ("/healthz", "/readyz", "/openapi.json", "/docs"):
        assert (await api.client.get(path)).status_code == 200, path
