"""Every number a write route takes has a documented range, and nothing outside it gets in.

Each numeric field of each write route (the FIELDS table: add a row for a new one) is
sent its bounds, just past them, zero, negatives, 1e-300, 1e300, 1e400, NaN and
Infinity as raw JSON text, 10**400, booleans, strings and null. Every answer is a 4xx
error envelope with a code and a message, or a 2xx whose stored value reads back as
sent; never a 5xx. After each field's fuzz every read route still answers 200.

Rows the API no longer accepts (written straight into the database, as a deployment
from before the bounds may hold them) are read and claimed without a 5xx or a stall.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import app as in_process
from support.app import HOOK, Api, MakeApi, assert_error
from support.settle import settle

from hookline.ids import now_ms, parse_time

# The in-process app of the API tests, on a fresh SQLite database for each test.
clean_environment = in_process.clean_environment
make_api = in_process.make_api
api = in_process.api

MAX_DELAY = 604800
# Raw JSON texts every field is sent, whatever its range.
ANYWHERE = (
    "0",
    "-1",
    "1",
    "0.5",
    "1e-300",
    "-1e-300",
    "1e300",
    "-1e300",
    "1e400",
    "NaN",
    "Infinity",
    "-Infinity",
    "1" + "0" * 400,
    "-1" + "0" * 400,
    "true",
    "false",
    '"5"',
    "null",
    "[]",
    "{}",
)
NOT_JSON = {"NaN", "Infinity", "-Infinity"}
FAR_FUTURE = 10**15  # milliseconds: about year 33658


def number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def between(low: float, high: float, *, whole: bool = False, above_low: bool = False) -> Any:
    """Accepts a JSON number from ``low`` to ``high`` (only integers when ``whole``)."""

    def ok(value: Any) -> bool:
        if not number(value) or (whole and not isinstance(value, int)):
            return False
        return (low < value if above_low else low <= value) and value <= high

    return ok


@dataclass(frozen=True)
class NumericField:
    """One numeric input of a write route.

    ``body`` is the request body with ``%s`` where the value's JSON text goes.
    ``read`` is the path to GET and the keys leading to the stored value in its
    ``data``; None when the route stores nothing to read back.
    """

    id: str
    method: str
    path: str
    body: str
    accepts: Callable[[Any], bool]
    edges: tuple[str, ...]
    null_ok: bool = False
    read: tuple[str, tuple[str | int, ...]] | None = None


def webhook_policy(field_id: str, policy: str, keys: tuple[str | int, ...], **kw: Any) -> Any:
    return NumericField(
        id=f"webhook.retryPolicy.{field_id}",
        method="PATCH",
        path="/v1/webhooks/{wh}",
        body=f'{{"retryPolicy": {policy}}}',
        read=("/v1/webhooks/{wh}", ("retryPolicy", *keys)),
        **kw,
    )


def workspace_policy(field_id: str, policy: str, keys: tuple[str | int, ...], **kw: Any) -> Any:
    return NumericField(
        id=f"workspace.settings.retryPolicy.{field_id}",
        method="PATCH",
        path="/v1/workspaces/{ws}",
        body=f'{{"settings": {{"retryPolicy": {policy}}}}}',
        read=("/v1/workspaces/{ws}", ("settings", "retryPolicy", *keys)),
        **kw,
    )


SECONDS = between(0, MAX_DELAY)
SECONDS_EDGES = ("604800", "604800.0", "604800.001", "0.001", "-0.001")
POLICY_FIELDS = [
    (
        "schedule[]",
        '{"schedule": [0, %s]}',
        ("schedule", 1),
        {"accepts": SECONDS, "edges": SECONDS_EDGES},
    ),
    (
        "exponential.initial",
        '{"exponential": {"initial": %s}}',
        ("exponential", "initial"),
        {"accepts": SECONDS, "edges": SECONDS_EDGES},
    ),
    (
        "exponential.factor",
        '{"exponential": {"factor": %s}}',
        ("exponential", "factor"),
        {"accepts": between(1, 10), "edges": ("10", "10.0001", "0.9999", "1.5")},
    ),
    (
        "exponential.retries",
        '{"exponential": {"retries": %s}}',
        ("exponential", "retries"),
        {"accepts": between(0, 49, whole=True), "edges": ("49", "50", "8.0", "2.5")},
    ),
    (
        "exponential.max",
        '{"exponential": {"max": %s}}',
        ("exponential", "max"),
        {"accepts": SECONDS, "edges": SECONDS_EDGES},
    ),
    (
        "timeout",
        '{"timeout": %s}',
        ("timeout",),
        {
            "accepts": between(0, 60, above_low=True),
            "edges": ("60", "60.001", "0.001"),
            "null_ok": True,
        },
    ),
    (
        "jitter",
        '{"jitter": %s}',
        ("jitter",),
        {"accepts": between(0, 1), "edges": ("1.0001", "0.2"), "null_ok": True},
    ),
    (
        "retryOn[]",
        '{"retryOn": [%s]}',
        ("retryOn", 0),
        {
            "accepts": between(100, 599, whole=True),
            "edges": ("100", "599", "99", "600", "500.0"),
        },
    ),
]

FIELDS = [
    NumericField(
        id="webhook.create.rateLimit",
        method="POST",
        path="/v1/workspaces/{ws}/webhooks",
        body=f'{{"url": "{HOOK}", "events": ["*"], "rateLimit": %s}}',
        accepts=between(0.001, 10_000),
        edges=("0.001", "0.000999", "10000", "10000.001", "100"),
        null_ok=True,
        read=("/v1/webhooks/{created}", ("rateLimit",)),
    ),
    NumericField(
        id="webhook.patch.rateLimit",
        method="PATCH",
        path="/v1/webhooks/{wh}",
        body='{"rateLimit": %s}',
        accepts=between(0.001, 10_000),
        edges=("0.001", "0.000999", "10000", "10000.001", "100"),
        null_ok=True,
        read=("/v1/webhooks/{wh}", ("rateLimit",)),
    ),
    *[webhook_policy(name, policy, keys, **kw) for name, policy, keys, kw in POLICY_FIELDS],
    *[workspace_policy(name, policy, keys, **kw) for name, policy, keys, kw in POLICY_FIELDS],
    NumericField(
        id="rotate.graceSeconds",
        method="POST",
        path="/v1/webhooks/{wh}/secret/rotate",
        body='{"graceSeconds": %s}',
        accepts=between(0, 30 * 86400),
        edges=("2592000", "2592000.001", "86400"),
    ),
    NumericField(
        id="portal-link.expiresIn",
        method="POST",
        path="/v1/workspaces/{ws}/portal-link",
        body='{"expiresIn": %s}',
        accepts=between(60, 86400, whole=True),
        edges=("60", "59", "86400", "86401", "600.0"),
        null_ok=True,
    ),
    NumericField(
        id="recover.since",
        method="POST",
        path="/v1/webhooks/{wh}/recover",
        body='{"since": %s}',
        # A time is text: RFC 3339, or unix seconds up to year 9999 ("5" is one too).
        accepts=lambda value: value in ("5", "1773828300"),
        edges=("1773828300", '"1773828300"', '"1e300"', '"99999999999999999999"'),
    ),
]


def dig(data: Any, keys: tuple[str | int, ...]) -> Any:
    for key in keys:
        data = data[key]
    return data


def expected_status(field: NumericField, raw: str) -> int | None:
    """400 for text that is not JSON, 2xx (None: any) for a value in range, else 422."""
    if raw in NOT_JSON:
        return 400
    value = json.loads(raw)
    if value is None:
        return None if field.null_ok else 422
    return None if field.accepts(value) else 422


async def seed(api: Api) -> dict[str, str]:
    """A workspace, an event type, a webhook and a pending delivery: every read route has data."""
    ws = (await api.workspace(id="acme", name="Acme", plan="pro"))["id"]
    await api.ok("POST", "/v1/event-types", 201, json={"name": "user.created"})
    wh = (await api.webhook(ws))["id"]
    event = await api.event(ws, "user.created", {"id": 1}, id="evt-bounds")
    deliveries = await api.ok("GET", f"/v1/webhooks/{wh}/deliveries")
    return {"ws": ws, "wh": wh, "evt": event["id"], "dlv": deliveries[0]["id"]}


READ_ROUTES = (
    "/healthz",
    "/readyz",
    "/metrics",
    "/v1/workspaces",
    "/v1/workspaces/{ws}",
    "/v1/workspaces/{ws}/api-keys",
    "/v1/workspaces/{ws}/webhooks",
    "/v1/workspaces/{ws}/deliveries",
    "/v1/workspaces/{ws}/events",
    "/v1/event-types",
    "/v1/event-types/user.created",
    "/v1/webhooks/{wh}",
    "/v1/webhooks/{wh}/secret",
    "/v1/webhooks/{wh}/deliveries",
    "/v1/deliveries/{dlv}",
    "/v1/events/{evt}",
)


async def assert_reads_answer(api: Api, ids: dict[str, str]) -> None:
    for route in READ_ROUTES:
        response = await api.get(route.format(**ids))
        assert response.status_code == 200, (route, response.status_code, response.text)


async def send(api: Api, method: str, path: str, raw_body: str) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    return await api.request(method, path, content=raw_body.encode(), headers=headers)


@pytest.mark.parametrize("field", FIELDS, ids=[f.id for f in FIELDS])
async def test_every_numeric_field_is_bounded(make_api: MakeApi, field: NumericField) -> None:
    api = await make_api()
    ids = await seed(api)
    for raw in (*ANYWHERE, *field.edges):
        response = await send(api, field.method, field.path.format(**ids), field.body % raw)
        expected = expected_status(field, raw)
        context = (field.id, raw[:20], response.status_code, response.text[:300])
        assert response.status_code < 500, context
        if expected is not None:
            assert response.status_code == expected, context
        if response.status_code >= 400:
            assert_error(response, response.status_code)
            continue
        assert 200 <= response.status_code < 300, context
        if field.read is not None:
            path, keys = field.read
            created = response.json()["data"].get("id", "")
            stored = dig(await api.ok("GET", path.format(**ids, created=created)), keys)
            assert stored == json.loads(raw), context
    await assert_reads_answer(api, ids)


@pytest.mark.parametrize(
    ("query", "ok"),
    [
        ("1", True),
        ("250", True),
        ("0", False),
        ("-1", False),
        ("251", False),
        ("2.5", False),
        ("1e-300", False),
        ("1e300", False),
        ("NaN", False),
        ("Infinity", False),
        ("1" + "0" * 400, False),
        ("true", False),
        ("", False),
    ],
)
async def test_list_limits_are_1_to_250(api: Api, query: str, ok: bool) -> None:
    ids = await seed(api)
    for route in READ_ROUTES:
        if not route.endswith(("s", "deliveries")) or route.startswith("/metrics"):
            continue
        response = await api.get(route.format(**ids), params={"limit": query})
        if ok:
            assert response.status_code == 200, (route, response.text)
        else:
            error = assert_error(response, 422, "validation_error")
            assert "limit" in error["message"], error


@pytest.mark.parametrize(("count", "ok"), [(0, False), (1, True), (1000, True), (1001, False)])
async def test_a_batch_holds_1_to_1000_events(api: Api, count: int, ok: bool) -> None:
    ids = await seed(api)
    events = [{"type": "user.created", "data": {"n": n}} for n in range(count)]
    response = await api.post(f"/v1/workspaces/{ids['ws']}/events/batch", json={"events": events})
    if ok:
        assert response.status_code == 200, response.text
        assert len(response.json()["data"]) == count
    else:
        assert "1 to 1000" in assert_error(response, 422, "invalid_batch")["message"]


@pytest.mark.parametrize("raw", ANYWHERE)
async def test_numbers_in_payloads_and_metadata_never_fail_a_read(api: Api, raw: str) -> None:
    """Free-form JSON (event data, webhook metadata, catalog examples) keeps any number."""
    ids = await seed(api)
    ws = ids["ws"]
    writes = [
        ("POST", f"/v1/workspaces/{ws}/events", '{"type": "user.created", "data": {"n": %s}}'),
        ("PATCH", f"/v1/webhooks/{ids['wh']}", '{"metadata": {"n": %s}}'),
        ("PATCH", "/v1/event-types/user.created", '{"example": {"n": %s}}'),
    ]
    for method, path, body in writes:
        response = await send(api, method, path, body % raw)
        assert response.status_code < 500, (path, raw[:20], response.text[:300])
        if raw in NOT_JSON:
            assert_error(response, 400, "malformed_json")
        else:
            assert 200 <= response.status_code < 300, (path, raw[:20], response.text[:300])
    await assert_reads_answer(api, ids)


# -- the messages name the field and its range --------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "code", "says"),
    [
        ("PATCH", "/v1/webhooks/{wh}", {"rateLimit": 1e-300}, "invalid_rate_limit", "0.001"),
        ("PATCH", "/v1/webhooks/{wh}", {"rateLimit": 10001}, "invalid_rate_limit", "10000"),
        (
            "PATCH",
            "/v1/webhooks/{wh}",
            {"retryPolicy": {"exponential": {"initial": 1e300}}},
            "invalid_retry_policy",
            "retryPolicy.exponential.initial must be a number from 0 to 604800 seconds",
        ),
        (
            "PATCH",
            "/v1/webhooks/{wh}",
            {"retryPolicy": {"exponential": {"max": 1e300}}},
            "invalid_retry_policy",
            "retryPolicy.exponential.max must be a number from 0 to 604800 seconds",
        ),
        (
            "PATCH",
            "/v1/workspaces/{ws}",
            {"settings": {"retryPolicy": {"exponential": {"initial": 1e300}}}},
            "invalid_settings",
            "settings.retryPolicy.exponential.initial must be a number from 0 to 604800",
        ),
        ("PATCH", "/v1/webhooks/{wh}", {"rateLimit": True}, "validation_error", "rateLimit"),
        (
            "POST",
            "/v1/webhooks/{wh}/secret/rotate",
            {"graceSeconds": 1e300},
            "validation_error",
            "graceSeconds: Input should be less than or equal to 2592000",
        ),
        (
            "POST",
            "/v1/workspaces/{ws}/portal-link",
            {"expiresIn": 10**400},
            "validation_error",
            "expiresIn: Input should be less than or equal to 86400",
        ),
    ],
)
async def test_an_out_of_range_number_is_422_naming_the_field_and_range(
    api: Api, method: str, path: str, body: dict[str, Any], code: str, says: str
) -> None:
    ids = await seed(api)
    response = await api.request(method, path.format(**ids), json=body)
    error = assert_error(response, 422, code)
    assert says in error["message"], error


# -- rows from before the bounds -------------------------------------------------------


def write_row(api: Api, sql: str, *args: Any) -> None:
    """Change the in-process app's SQLite database behind its back."""
    conn = sqlite3.connect(api.settings.sqlite_path)
    try:
        conn.execute(sql, args)
        conn.commit()
    finally:
        conn.close()


async def test_a_stored_time_past_year_9999_is_shown_not_a_500(api: Api) -> None:
    ids = await seed(api)
    write_row(api, "UPDATE deliveries SET next_attempt_at = ? WHERE id = ?", FAR_FUTURE, ids["dlv"])
    write_row(api, "UPDATE webhooks SET status_changed_at = ? WHERE id = ?", FAR_FUTURE, ids["wh"])
    last = "9999-12-31T23:59:59.999Z"
    delivery = await api.ok("GET", f"/v1/deliveries/{ids['dlv']}")
    assert delivery["nextAttemptAt"] == last
    for path in (f"/v1/webhooks/{ids['wh']}/deliveries", f"/v1/workspaces/{ids['ws']}/deliveries"):
        assert [d["nextAttemptAt"] for d in await api.ok("GET", path)] == [last]
    event = await api.ok("GET", f"/v1/events/{ids['evt']}")
    assert event["deliveries"][0]["nextAttemptAt"] == last
    assert (await api.ok("GET", f"/v1/webhooks/{ids['wh']}"))["statusChangedAt"] == last
    await assert_reads_answer(api, ids)


async def test_a_webhook_stored_with_absurd_numbers_is_read_and_claimed(api: Api) -> None:
    """What the API took before the bounds: rateLimit 1e-300, exponential initial 1e300."""
    ids = await seed(api)
    policy = {"exponential": {"initial": 1e300, "max": 1e300}, "jitter": 0}
    write_row(
        api,
        "UPDATE webhooks SET rate_limit = ?, retry_policy = ? WHERE id = ?",
        1e-300,
        json.dumps(policy),
        ids["wh"],
    )
    other = (await api.workspace(id="globex", name="Globex"))["id"]
    plain = (await api.webhook(other))["id"]
    await api.event(other, "user.created", {"id": 2})
    await api.event(ids["ws"], "user.created", {"id": 3})

    claimed = await settle(api.store, status_code=200)  # a claim, then recorded attempts
    webhooks = {(await api.ok("GET", f"/v1/deliveries/{d}"))["webhookId"] for d in claimed}
    assert plain in webhooks and ids["wh"] in webhooks
    stored = await api.ok("GET", f"/v1/webhooks/{ids['wh']}")
    assert stored["rateLimit"] == 1e-300 and stored["retryPolicy"] == policy
    # Its other delivery waits for the next slot, at most a day out (not 1e303 ms).
    pending = await api.ok("GET", f"/v1/webhooks/{ids['wh']}/deliveries?status=pending")
    assert len(pending) == 1
    await assert_reads_answer(api, ids)
    assert now_ms() < parse_time(pending[0]["nextAttemptAt"]) <= now_ms() + 86_400_000


# -- the deployment's own retry policy ------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    ['{"exponential": {"initial": 1e300}}', '{"timeout": NaN}', '{"schedule": [0, 1e400]}'],
)
def test_hookline_serve_refuses_an_invalid_retry_policy(tmp_path: Path, policy: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(HOOKLINE_DATA_DIR=str(tmp_path), HOOKLINE_RETRY_POLICY=policy)
    done = subprocess.run(
        [sys.executable, "-m", "hookline", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "invalid settings" in done.stderr
    assert "HOOKLINE_RETRY_POLICY." in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "hookline.db").exists()
