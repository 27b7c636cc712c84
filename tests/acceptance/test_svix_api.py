"""The Svix-compatible API driven by Svix's own Python SDK (PyPI ``svix``), sync and async,
against a real server on each store: applications and endpoints, Svix's errors as the SDK's
typed exceptions, and a workspace key that never sees another application."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from support.polling import poll
from support.receiver import Receiver
from support.server import ADMIN_KEY, Api, Hookline
from svix.api import (
    ApplicationCreateOptions,
    ApplicationIn,
    ApplicationListOptions,
    ApplicationPatch,
    EndpointHeadersIn,
    EndpointHeadersPatchIn,
    EndpointIn,
    EndpointListOptions,
    EndpointPatch,
    EndpointSecretRotateIn,
    EndpointUpsertIn,
    EventExampleIn,
    EventTypeIn,
    MessageIn,
    RecoverIn,
    Svix,
    SvixAsync,
    SvixOptions,
)
from svix.exceptions import HttpError, HTTPValidationError
from svix.models import Ordering
from svix.webhooks import Webhook as SvixWebhook


def _uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def svix(hookline: Hookline) -> Svix:
    return Svix(ADMIN_KEY, SvixOptions(server_url=hookline.base_url, retry_schedule=[]))


def test_applications_with_the_sync_sdk(svix: Svix) -> None:
    uid = _uid("school")
    app = svix.application.create(ApplicationIn(name="School", uid=uid, metadata={"tier": "a"}))
    assert (app.id, app.uid, app.name, app.metadata) == (uid, uid, "School", {"tier": "a"})
    assert app.created_at.tzinfo is not None

    assert svix.application.get(uid).name == "School"
    assert svix.application.get_or_create(ApplicationIn(name="Other", uid=uid)).name == "School"
    patched = svix.application.patch(uid, ApplicationPatch(metadata={"tier": "b"}))
    assert (patched.name, patched.metadata) == ("School", {"tier": "b"})
    assert svix.application.get(uid).metadata == {"tier": "b"}
    renamed = svix.application.upsert(uid, ApplicationIn(name="Renamed"))
    assert (renamed.name, renamed.metadata) == ("Renamed", {})
    made = svix.application.upsert(_uid("put"), ApplicationIn(name="Put", metadata={"k": "v"}))
    assert (made.name, made.metadata) == ("Put", {"k": "v"})

    generated = svix.application.create(ApplicationIn(name="No uid"))
    assert generated.id.startswith("ws_") and generated.uid is None

    with pytest.raises(HttpError) as duplicate:
        svix.application.create(ApplicationIn(name="Again", uid=uid))
    assert duplicate.value.status_code == 409

    svix.application.delete(uid)
    with pytest.raises(HttpError) as gone:
        svix.application.get(uid)
    assert gone.value.status_code == 404 and gone.value.code == "not_found"


def test_application_pages_follow_the_iterator(svix: Svix) -> None:
    made = {svix.application.create(ApplicationIn(name=f"page {i}")).id for i in range(3)}
    seen: list[str] = []
    iterator = None
    while True:
        page = svix.application.list(ApplicationListOptions(limit=2, iterator=iterator))
        assert len(page.data) <= 2
        seen += [a.id for a in page.data]
        if page.done:
            break
        iterator = page.iterator
    assert made <= set(seen)
    assert len(seen) == len(set(seen))
    newest = svix.application.list(ApplicationListOptions(order=Ordering.DESCENDING)).data
    assert [a.id for a in newest][:3] == [a for a in seen if a in made][:3]
    with pytest.raises(HTTPValidationError) as ascending:
        svix.application.list(ApplicationListOptions(order=Ordering.ASCENDING))
    assert ascending.value.detail[0].loc == ["query", "order"]


def test_unoffered_application_fields_are_refused(svix: Svix) -> None:
    with pytest.raises(HTTPValidationError) as refused:
        svix.application.create(ApplicationIn(name="x", throttle_rate=5))
    assert refused.value.detail[0].loc == ["body", "throttleRate"]


async def test_applications_with_the_async_sdk(hookline: Hookline) -> None:
    client = SvixAsync(ADMIN_KEY, SvixOptions(server_url=hookline.base_url, retry_schedule=[]))
    uid = _uid("async")
    created = await client.application.create(ApplicationIn(name="Async", uid=uid))
    assert created.uid == uid
    assert (await client.application.get(uid)).name == "Async"
    assert (await client.application.patch(uid, ApplicationPatch(name="B"))).name == "B"
    await client.application.delete(uid)
    with pytest.raises(HttpError) as gone:
        await client.application.get(uid)
    assert gone.value.status_code == 404


def test_endpoints_with_the_sync_sdk(svix: Svix, receiver: Receiver) -> None:
    app = svix.application.create(ApplicationIn(name="Endpoints", uid=_uid("ep")))
    url = receiver.endpoint().url
    ep = svix.endpoint.create(
        app.id,
        EndpointIn(
            url=url,
            uid="crm",
            description="CRM sync",
            event_types=["invoice.paid"],
            throttle_rate=10,
            metadata={"team": "billing"},
            headers={"X-Tenant": "acme"},
        ),
    )
    assert ep.id.startswith("wh_")
    assert (ep.uid, ep.url, ep.description, ep.disabled) == ("crm", url, "CRM sync", False)
    assert (ep.event_types, ep.throttle_rate, ep.metadata) == (
        ["invoice.paid"],
        10,
        {"team": "billing"},
    )
    assert svix.endpoint.get(app.id, "crm").id == ep.id
    assert [e.id for e in svix.endpoint.list(app.id).data] == [ep.id]

    patched = svix.endpoint.patch(app.id, "crm", EndpointPatch(disabled=True))
    assert patched.disabled is True and patched.description == "CRM sync"
    updated = svix.endpoint.upsert(app.id, ep.id, EndpointUpsertIn(url=url, uid="crm"))
    assert (updated.disabled, updated.description, updated.event_types) == (False, "", None)
    created = svix.endpoint.upsert(app.id, "erp", EndpointUpsertIn(url=url, description="ERP"))
    assert (created.uid, created.description) == ("erp", "ERP")
    assert svix.endpoint.get(app.id, "erp").id == created.id
    svix.endpoint.delete(app.id, "erp")

    assert svix.endpoint.get_headers(app.id, ep.id).headers == {"X-Tenant": "acme"}
    svix.endpoint.set_headers(app.id, ep.id, EndpointHeadersIn(headers={"X-A": "1"}))
    svix.endpoint.patch_headers(
        app.id, ep.id, EndpointHeadersPatchIn(headers={"X-B": "2"}, delete_headers=["X-A"])
    )
    assert svix.endpoint.get_headers(app.id, ep.id).headers == {"X-B": "2"}

    before = svix.endpoint.get_secret(app.id, ep.id).key
    assert before.startswith("whsec_")
    svix.endpoint.rotate_secret(app.id, ep.id, EndpointSecretRotateIn())
    assert svix.endpoint.get_secret(app.id, ep.id).key not in (before, "")

    with pytest.raises(HttpError) as duplicate:
        svix.endpoint.create(app.id, EndpointIn(url=url, uid="crm"))
    assert duplicate.value.status_code == 409
    with pytest.raises(HTTPValidationError):
        svix.endpoint.create(app.id, EndpointIn(url="not a url"))

    svix.endpoint.delete(app.id, "crm")
    with pytest.raises(HttpError) as gone:
        svix.endpoint.get(app.id, ep.id)
    assert gone.value.status_code == 404


async def test_endpoints_with_the_async_sdk(hookline: Hookline, receiver: Receiver) -> None:
    client = SvixAsync(ADMIN_KEY, SvixOptions(server_url=hookline.base_url, retry_schedule=[]))
    app = await client.application.create(ApplicationIn(name="Async endpoints"))
    ep = await client.endpoint.create(app.id, EndpointIn(url=receiver.endpoint().url, uid="a"))
    assert (await client.endpoint.get(app.id, "a")).id == ep.id
    assert (await client.endpoint.get_secret(app.id, "a")).key.startswith("whsec_")
    await client.endpoint.delete(app.id, ep.id)
    assert (await client.endpoint.list(app.id)).data == []


def test_deliveries_verify_with_the_sdk_and_recover(
    svix: Svix, api: Api, receiver: Receiver
) -> None:
    app = svix.application.create(ApplicationIn(name="Recover"))
    hook = receiver.endpoint([500])
    ep = svix.endpoint.create(app.id, EndpointIn(url=hook.url))
    api.patch(f"/v1/webhooks/{ep.id}", {"retryPolicy": {"schedule": [0]}})
    event = api.send(app.id, "invoice.paid", {"n": 1})
    failed = api.settled(api.deliveries_of(event["id"])[0]["id"])
    assert failed["status"] == "failed"
    stats = svix.endpoint.get_stats(app.id, ep.id)
    assert (stats.fail, stats.success) == (1, 0)

    svix.endpoint.recover(app.id, ep.id, RecoverIn(since=_epoch()))
    second = hook.wait(2)[1]
    secret = svix.endpoint.get_secret(app.id, ep.id).key
    SvixWebhook(secret).verify(second.body, dict(second.headers))
    poll(
        lambda: svix.endpoint.get_stats(app.id, ep.id),
        lambda s: s.success == 1,
        what="the recovered delivery succeeded",
    )


def _epoch() -> datetime:
    return datetime(2000, 1, 1, tzinfo=UTC)


def test_a_workspace_key_sees_only_its_application(
    svix: Svix, hookline: Hookline, api: Api, receiver: Receiver
) -> None:
    mine = svix.application.create(ApplicationIn(name="Mine", uid=_uid("mine")))
    theirs = svix.application.create(ApplicationIn(name="Theirs", uid=_uid("theirs")))
    their_ep = svix.endpoint.create(theirs.id, EndpointIn(url=receiver.endpoint().url))
    key = api.post(
        f"/v1/workspaces/{mine.id}/api-keys", {"name": "svix", "role": "admin"}, status=201
    )["key"]
    scoped = Svix(key, SvixOptions(server_url=hookline.base_url, retry_schedule=[]))

    assert [a.id for a in scoped.application.list().data] == [mine.id]
    assert scoped.application.get(mine.id).name == "Mine"
    for call in (
        lambda: scoped.application.get(theirs.id),
        lambda: scoped.endpoint.list(theirs.id),
        lambda: scoped.endpoint.get(theirs.id, their_ep.id),
        lambda: scoped.endpoint.get(mine.id, their_ep.id),
        lambda: scoped.endpoint.get_secret(mine.id, their_ep.id),
    ):
        with pytest.raises(HttpError) as hidden:
            call()
        assert hidden.value.status_code == 404


def test_a_bad_token_is_401(hookline: Hookline) -> None:
    client = Svix("hk_not_a_key", SvixOptions(server_url=hookline.base_url, retry_schedule=[]))
    with pytest.raises(HttpError) as refused:
        client.application.list()
    assert refused.value.status_code == 401


def test_a_repeated_idempotency_key_gets_the_first_answer(svix: Svix, hookline: Hookline) -> None:
    key = f"key-{uuid.uuid4().hex}"
    uid = _uid("idem")
    first = svix.application.create(
        ApplicationIn(name="First", uid=uid), ApplicationCreateOptions(idempotency_key=key)
    )
    again = svix.application.create(
        ApplicationIn(name="First", uid=uid), ApplicationCreateOptions(idempotency_key=key)
    )
    assert again == first
    with pytest.raises(HttpError) as duplicate:
        svix.application.create(ApplicationIn(name="First", uid=uid))
    assert duplicate.value.status_code == 409

    with httpx.Client(base_url=hookline.base_url) as http:
        reused = http.post(
            f"/api/v1/app/{uid}/endpoint",
            json={"url": "https://example.com/hook"},
            headers={"Authorization": f"Bearer {ADMIN_KEY}", "idempotency-key": key},
        )
    assert reused.status_code == 409
    assert reused.json()["code"] == "idempotency_key_reused"


def test_roles_hold_on_the_svix_surface(
    svix: Svix, hookline: Hookline, api: Api, receiver: Receiver
) -> None:
    app = svix.application.create(ApplicationIn(name="Roles"))
    ep = svix.endpoint.create(app.id, EndpointIn(url=receiver.endpoint().url))

    def client(role: str) -> Svix:
        body = {"name": role, "role": role}
        key = api.post(f"/v1/workspaces/{app.id}/api-keys", body, status=201)["key"]
        return Svix(key, SvixOptions(server_url=hookline.base_url, retry_schedule=[]))

    publisher, member = client("publisher"), client("member")
    publisher.message.create(app.id, MessageIn(event_type="a.b", payload={}))
    with pytest.raises(HttpError) as forbidden:
        publisher.endpoint.list(app.id)
    assert forbidden.value.status_code == 403
    assert [e.id for e in member.endpoint.list(app.id).data] == [ep.id]
    for call in (
        lambda: member.endpoint.get_secret(app.id, ep.id),
        lambda: member.endpoint.create(app.id, EndpointIn(url=receiver.endpoint().url)),
    ):
        with pytest.raises(HttpError) as refused:
            call()
        assert refused.value.status_code == 403


def test_an_unknown_operation_is_svix_404_and_health_needs_no_key(hookline: Hookline) -> None:
    with httpx.Client(base_url=hookline.base_url) as http:
        answer = http.get("/api/v1/no/such", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert answer.status_code == 404
        assert answer.json()["code"] == "not_found"
        for path in ("/api/v1/health", "/api/v1/health/ping"):
            up = http.get(path)
            assert (up.status_code, up.content) == (204, b"")


def test_send_example_sends_the_event_types_example(svix: Svix, receiver: Receiver) -> None:
    name = _uid("order.shipped")
    schema = {"type": "object", "examples": [{"orderId": "o1"}]}
    svix.event_type.create(EventTypeIn(name=name, description="Shipped", schemas={"1": schema}))
    svix.event_type.create(EventTypeIn(name=name + ".bare", description="No example"))
    app = svix.application.create(ApplicationIn(name="Example"))
    hook = receiver.endpoint()
    ep = svix.endpoint.create(app.id, EndpointIn(url=hook.url, event_types=["other"]))
    sent = svix.endpoint.send_example(app.id, ep.id, EventExampleIn(event_type=name))
    assert (sent.event_type, sent.payload) == (name, {"orderId": "o1"})
    (arrived,) = hook.wait(1)
    assert arrived.header("svix-id") == sent.id
    assert json.loads(arrived.body) == {"orderId": "o1"}
    with pytest.raises(HTTPValidationError) as bare:
        svix.endpoint.send_example(app.id, ep.id, EventExampleIn(event_type=name + ".bare"))
    assert bare.value.detail[0].type == "no_example"
    SvixWebhook(svix.endpoint.get_secret(app.id, ep.id).key).verify(
        arrived.body, dict(arrived.headers)
    )


def test_endpoint_pages_and_a_malformed_body_in_svix_shapes(
    svix: Svix, hookline: Hookline, receiver: Receiver
) -> None:
    app = svix.application.create(ApplicationIn(name="Pages"))
    made = [svix.endpoint.create(app.id, EndpointIn(url=receiver.endpoint().url)).id for _ in "abc"]
    first = svix.endpoint.list(app.id, EndpointListOptions(limit=2))
    rest = svix.endpoint.list(app.id, EndpointListOptions(limit=2, iterator=first.iterator))
    assert (first.done, rest.done, rest.iterator) == (False, True, None)
    assert [e.id for e in first.data + rest.data] == made[::-1]

    with httpx.Client(base_url=hookline.base_url) as http:
        answer = http.post(
            f"/api/v1/app/{app.id}/endpoint",
            json={"description": "no url"},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
    assert answer.status_code == 422
    (item,) = answer.json()["detail"]
    assert item["loc"] == ["body", "url"] and item["msg"] and item["type"]
