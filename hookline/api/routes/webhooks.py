"""Webhooks (endpoints): CRUD, secret, test ping, recover and their Send Logs."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Body, Query

from hookline.api.deps import Cursor, Limit, Svc, Who, time_param
from hookline.api.routes.common import Deleted, v1_router
from hookline.api.routes.deliveries import DeliveryQuery, delivery_filter
from hookline.api.schemas import (
    DeliveryDetail,
    DeliveryOut,
    Ok,
    OkList,
    RecoverIn,
    RecoverOut,
    SecretOut,
    SecretRotate,
    TestIn,
    TransformationTried,
    TransformationTry,
    WebhookCreate,
    WebhookOut,
    WebhookPatch,
    attempt_out,
    delivery_out,
    webhook_out,
)
from hookline.domain.webhook_commands import parse_change, parse_create

router = v1_router("webhooks")


@router.post("/workspaces/{wId}/webhooks", status_code=201, response_model=Ok[WebhookOut])
async def create_webhook(wId: str, body: WebhookCreate, svc: Svc, who: Who) -> Ok[WebhookOut]:
    """Register an endpoint. It is active and receives matching events at once."""
    wh = await svc.webhooks.create(who, wId, parse_create(body.model_dump(exclude_unset=True)))
    return Ok(data=webhook_out(wh))


@router.get("/workspaces/{wId}/webhooks", response_model=OkList[WebhookOut])
async def list_webhooks(
    wId: str,
    svc: Svc,
    who: Who,
    status: Literal["active", "paused", "disabled"] | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> OkList[WebhookOut]:
    """The workspace's webhooks, newest first, without their secrets; filter by status."""
    page = await svc.webhooks.list(who, wId, status=status, limit=limit, cursor=cursor)
    return OkList(data=[webhook_out(w) for w in page.items], nextCursor=page.next_cursor)


@router.get("/webhooks/{whId}", response_model=Ok[WebhookOut])
async def get_webhook(whId: str, svc: Svc, who: Who) -> Ok[WebhookOut]:
    """One webhook, without its secret."""
    return Ok(data=webhook_out(await svc.webhooks.get(who, whId)))


@router.patch("/webhooks/{whId}", response_model=Ok[WebhookOut])
async def update_webhook(whId: str, body: WebhookPatch, svc: Svc, who: Who) -> Ok[WebhookOut]:
    """Change any field, or the status: paused holds deliveries, disabled creates none.

    Stored endpoint credentials go only where they were given for: a url on another origin
    (or a new tokenUrl, username or clientId) without the auth's secret sent again is 422
    auth_required.
    """
    wh = await svc.webhooks.update(who, whId, parse_change(body.model_dump(exclude_unset=True)))
    return Ok(data=webhook_out(wh))


@router.delete("/webhooks/{whId}", response_model=Ok[Deleted])
async def delete_webhook(whId: str, svc: Svc, who: Who) -> Ok[Deleted]:
    """Delete the webhook with all its deliveries and attempts, permanently."""
    await svc.webhooks.delete(who, whId)
    return Ok(data=Deleted(id=whId))


@router.get("/webhooks/{whId}/secret", response_model=Ok[SecretOut])
async def get_secret(whId: str, svc: Svc, who: Who) -> Ok[SecretOut]:
    """The signing secret and ed25519 public key (owner and admin keys)."""
    secret, public = await svc.webhooks.secret(who, whId)
    return Ok(data=SecretOut(secret=secret, publicKey=public))


@router.post("/webhooks/{whId}/secret/rotate", response_model=Ok[SecretOut])
async def rotate_secret(
    whId: str, svc: Svc, who: Who, body: Annotated[SecretRotate | None, Body()] = None
) -> Ok[SecretOut]:
    """Replace the secret and key pair.

    For graceSeconds (default one day) deliveries carry signatures by both the old and
    the new keys where the scheme allows several (standard, ed25519); the others sign
    with the new secret only.
    """
    body = body or SecretRotate()
    secret, public = await svc.webhooks.rotate(
        who, whId, secret=body.secret, grace_seconds=body.graceSeconds
    )
    return Ok(data=SecretOut(secret=secret, publicKey=public))


@router.post("/webhooks/{whId}/test", response_model=Ok[DeliveryDetail])
async def test_webhook(
    whId: str, svc: Svc, who: Who, body: Annotated[TestIn | None, Body()] = None
) -> Ok[DeliveryDetail]:
    """Send a test event now and return the delivery with its first attempt: a test ping
    (type test, empty data), or with eventType the catalog's example of that type."""
    if body is not None and body.eventType is not None:
        et = await svc.catalog.get(who, body.eventType)
        dlv, attempts = await svc.deliveries.send_example(who, whId, et)
    else:
        dlv, attempts = await svc.deliveries.test(who, whId)
    detail = DeliveryDetail(
        **delivery_out(dlv).model_dump(), event=None, attempts=[attempt_out(a) for a in attempts]
    )
    return Ok(data=detail)


@router.post("/webhooks/{whId}/transformation/try", response_model=Ok[TransformationTried])
async def try_transformation(
    whId: str, body: TransformationTry, svc: Svc, who: Who
) -> Ok[TransformationTried]:
    """Run a transformation (the given code, else the webhook's own) on the latest example of
    an event type, as the webhook would get it, and return what it made of it; nothing is
    sent. A failure of the code is in error, as an attempt would record it; 422 no_example
    when the type has no example; 503 sandbox_unavailable when no sandbox can run it."""
    tried = await svc.transformations.try_code(who, whId, event_type=body.eventType, code=body.code)
    return Ok(data=TransformationTried.model_validate(tried, from_attributes=True))


@router.post("/webhooks/{whId}/recover", status_code=202, response_model=Ok[RecoverOut])
async def recover(whId: str, body: RecoverIn, svc: Svc, who: Who) -> Ok[RecoverOut]:
    """Resend every matching delivery in the window as new deliveries tagged recovered."""
    raw = body.model_dump(exclude_unset=True)
    raw["since"] = time_param(body.since, "since")
    raw["until"] = time_param(body.until, "until")
    return Ok(data=RecoverOut(count=await svc.deliveries.recover(who, whId, raw)))


@router.get("/webhooks/{whId}/deliveries", response_model=OkList[DeliveryOut])
async def list_webhook_deliveries(
    whId: str,
    svc: Svc,
    who: Who,
    query: Annotated[DeliveryQuery, Query()],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> OkList[DeliveryOut]:
    """The Send Logs of one webhook, newest first; q searches event id, type and payload."""
    page = await svc.deliveries.search(
        who, delivery_filter(query, webhook_id=whId), limit=limit, cursor=cursor
    )
    return OkList(data=[delivery_out(d) for d in page.items], nextCursor=page.next_cursor)
