"""Event types, app-portal access and health through Svix's Python SDK, on each store."""

from __future__ import annotations

import uuid

import httpx
import pytest
from support.server import ADMIN_KEY, Api, Hookline
from svix.api import (
    ApplicationIn,
    AppPortalAccessIn,
    EventTypeIn,
    EventTypeListOptions,
    EventTypePatch,
    EventTypeUpsertIn,
    MessageIn,
    Svix,
    SvixAsync,
    SvixOptions,
)
from svix.exceptions import HttpError, HTTPValidationError

SCHEMA = {
    "type": "object",
    "properties": {"invoiceId": {"type": "string"}},
    "required": ["invoiceId"],
}


@pytest.fixture(scope="module")
def svix(hookline: Hookline) -> Svix:
    return Svix(ADMIN_KEY, SvixOptions(server_url=hookline.base_url, retry_schedule=[]))


def _name() -> str:
    return f"invoice.paid-{uuid.uuid4().hex[:8]}"


def test_event_types_with_schemas(svix: Svix) -> None:
    name = _name()
    created = svix.event_type.create(
        EventTypeIn(name=name, description="Paid", schemas={"1": SCHEMA}, group_name="billing")
    )
    assert (created.name, created.description, created.schemas, created.group_name) == (
        name,
        "Paid",
        {"1": SCHEMA},
        "billing",
    )
    assert created.deprecated is False and created.archived is False
    assert svix.event_type.get(name).schemas == {"1": SCHEMA}
    assert svix.event_type.patch(name, EventTypePatch(description="Settled")).description == (
        "Settled"
    )
    replaced = svix.event_type.upsert(name, EventTypeUpsertIn(description="Again"))
    assert (replaced.description, replaced.schemas) == ("Again", None)
    made = svix.event_type.upsert(_name(), EventTypeUpsertIn(description="New"))
    assert made.description == "New"

    with pytest.raises(HttpError) as duplicate:
        svix.event_type.create(EventTypeIn(name=name, description="x"))
    assert duplicate.value.status_code == 409
    old = svix.event_type.create(EventTypeIn(name=_name(), description="x", deprecated=True))
    assert old.deprecated is True and svix.event_type.get(old.name).deprecated is True
    undeprecated = svix.event_type.patch(old.name, EventTypePatch(deprecated=False))
    assert undeprecated.deprecated is False

    svix.event_type.delete(name)
    assert svix.event_type.get(name).archived is True
    listed = svix.event_type.list(EventTypeListOptions(limit=250)).data
    assert name not in {et.name for et in listed}


def test_a_schema_refuses_a_message_that_breaks_it(svix: Svix) -> None:
    name = _name()
    svix.event_type.create(EventTypeIn(name=name, description="d", schemas={"1": SCHEMA}))
    app = svix.application.create(ApplicationIn(name="Schemas"))
    with pytest.raises(HTTPValidationError) as refused:
        svix.message.create(app.id, MessageIn(event_type=name, payload={"other": 1}))
    assert refused.value.detail[0].type == "schema_violation"
    svix.message.create(app.id, MessageIn(event_type=name, payload={"invoiceId": "i1"}))


SCHEMA_V2 = {
    **SCHEMA,
    "required": ["invoiceId", "amount"],
    "examples": [{"invoiceId": "i2", "amount": 5}],
}


def test_every_schema_version_is_kept_and_messages_follow_the_latest(svix: Svix, api: Api) -> None:
    name = _name()
    created = svix.event_type.create(
        EventTypeIn(name=name, description="d", schemas={"1": SCHEMA, "2": SCHEMA_V2})
    )
    assert created.schemas == {"1": SCHEMA, "2": SCHEMA_V2}
    assert svix.event_type.get(name).schemas == {"1": SCHEMA, "2": SCHEMA_V2}
    native = api.get(f"/v1/event-types/{name}")
    assert (native["latestVersion"], native["examples"]) == ("2", {"2": SCHEMA_V2["examples"][0]})
    app = svix.application.create(ApplicationIn(name="Versions"))
    with pytest.raises(HTTPValidationError) as refused:
        svix.message.create(app.id, MessageIn(event_type=name, payload={"invoiceId": "i1"}))
    assert refused.value.detail[0].type == "schema_violation"
    svix.message.create(
        app.id, MessageIn(event_type=name, payload={"invoiceId": "i1", "amount": 1})
    )
    patched = svix.event_type.patch(name, EventTypePatch(schemas={"3": SCHEMA}))
    assert patched.schemas == {"3": SCHEMA}


def test_app_portal_access_is_a_portal_link(svix: Svix, hookline: Hookline) -> None:
    app = svix.application.create(ApplicationIn(name="Portal"))
    access = svix.authentication.app_portal_access(app.id, AppPortalAccessIn())
    assert access.url.endswith("/" + access.token)
    with httpx.Client(base_url=hookline.base_url) as client:
        opened = client.get(access.url.removeprefix(hookline.base_url), follow_redirects=True)
    assert opened.status_code == 200 and "Portal" in opened.text

    uid = f"portal-{uuid.uuid4().hex[:8]}"
    svix.authentication.app_portal_access(
        uid, AppPortalAccessIn(application=ApplicationIn(name="Made for the portal"))
    )
    assert svix.application.get(uid).name == "Made for the portal"


def test_portal_access_to_a_foreign_application_is_404(
    svix: Svix, hookline: Hookline, api: Api
) -> None:
    mine = svix.application.create(ApplicationIn(name="Mine"))
    theirs = svix.application.create(ApplicationIn(name="Theirs"))
    key = api.post(
        f"/v1/workspaces/{mine.id}/api-keys", {"name": "svix", "role": "admin"}, status=201
    )["key"]
    scoped = Svix(key, SvixOptions(server_url=hookline.base_url, retry_schedule=[]))
    scoped.authentication.app_portal_access(mine.id, AppPortalAccessIn())
    with pytest.raises(HttpError) as hidden:
        scoped.authentication.app_portal_access(theirs.id, AppPortalAccessIn())
    assert hidden.value.status_code == 404


async def test_health_and_event_types_with_the_async_sdk(hookline: Hookline) -> None:
    client = SvixAsync(ADMIN_KEY, SvixOptions(server_url=hookline.base_url, retry_schedule=[]))
    await client.health.get()
    name = _name()
    await client.event_type.create(EventTypeIn(name=name, description="Async"))
    assert (await client.event_type.get(name)).description == "Async"
