"""Endpoints: Hookline's webhooks. A Svix body becomes the body of Hookline's own webhook
routes, which ``parse_create`` and ``parse_change`` parse as they parse those."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Query, Response

from hookline.api.deps import Svc, Who, time_param
from hookline.api.svix.common import (
    Iterator,
    Limit,
    Order,
    application,
    by_uid,
    endpoint,
    svix_router,
)
from hookline.api.svix.wire import (
    ALL_EVENTS,
    EndpointFields,
    EndpointHeadersIn,
    EndpointHeadersOut,
    EndpointHeadersPatchIn,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointSecretOut,
    EndpointSecretRotateIn,
    EndpointStats,
    EventExampleIn,
    ListResponse,
    MessageOut,
    RecoverIn,
    RecoverOut,
    endpoint_out,
    page_of,
)
from hookline.domain.headers import MASKED
from hookline.domain.models import DeliveryStatus
from hookline.domain.webhook_commands import parse_change, parse_create
from hookline.errors import Conflict, Invalid, NotFound
from hookline.ids import format_ms, new_id, now_ms
from hookline.service import Principal, Services
from hookline.service.context import MAX_LIMIT
from hookline.store.port import DeliveryFilter

router = svix_router("endpoints")
DEFAULT_GRACE_SECONDS = 86400


def hookline_body(body: EndpointFields, *, full: bool) -> dict[str, Any]:
    """The body of Hookline's webhook routes that a Svix endpoint body stands for. ``full``
    (create, PUT): a field left out takes its default; else only the fields given change."""
    given = body.model_fields_set
    out: dict[str, Any] = {}
    if body.url is not None:
        out["url"] = body.url
    if full or "description" in given:
        out["description"] = body.description or ""
    if body.uid is not None:
        out["name"] = body.uid
    elif full or "uid" in given:
        out["name"] = ""
    types = body.eventTypes if "eventTypes" in given else body.filterTypes
    if full or given & {"eventTypes", "filterTypes"}:
        out["events"] = types or [ALL_EVENTS]
    if full or "disabled" in given:
        out["status"] = "disabled" if body.disabled else "active"
    if full or "throttleRate" in given:
        out["rateLimit"] = body.throttleRate
    if full or "metadata" in given:
        out["metadata"] = body.metadata or {}
    if full or "channels" in given:
        out["channels"] = body.channels or []
    return out


async def _check_uid_free(
    svc: Services, who: Principal, ws_id: str, uid: str | None, *, but: str | None = None
) -> None:
    if uid is None:
        return
    found = await by_uid(svc, who, ws_id, uid)
    if found is not None and found.id != but:
        raise Conflict(f"An endpoint with uid {uid!r} exists.", code="conflict")


@router.get("/app/{app_id}/endpoint", response_model=ListResponse[EndpointOut])
async def list_endpoints(
    app_id: str,
    svc: Svc,
    who: Who,
    limit: Limit = 50,
    iterator: Iterator = None,
    order: Order = None,
) -> ListResponse[EndpointOut]:
    ws = await application(svc, who, app_id)
    page = await svc.webhooks.list(who, ws.id, status=None, limit=limit, cursor=iterator)
    return page_of(page, [endpoint_out(wh) for wh in page.items])


@router.post("/app/{app_id}/endpoint", status_code=201, response_model=EndpointOut)
async def create_endpoint(app_id: str, body: EndpointIn, svc: Svc, who: Who) -> EndpointOut:
    ws = await application(svc, who, app_id)
    await _check_uid_free(svc, who, ws.id, body.uid)
    raw = hookline_body(body, full=True)
    raw["secret"] = body.secret
    if body.headers is not None:
        raw["headers"] = body.headers
    return endpoint_out(await svc.webhooks.create(who, ws.id, parse_create(raw)))


@router.get("/app/{app_id}/endpoint/{endpoint_id}", response_model=EndpointOut)
async def get_endpoint(app_id: str, endpoint_id: str, svc: Svc, who: Who) -> EndpointOut:
    return endpoint_out(await endpoint(svc, who, app_id, endpoint_id))


@router.put("/app/{app_id}/endpoint/{endpoint_id}", response_model=EndpointOut)
async def update_endpoint(
    app_id: str, endpoint_id: str, body: EndpointIn, svc: Svc, who: Who, response: Response
) -> EndpointOut:
    """Replace the endpoint's fields, or create it with ``endpoint_id`` as its uid (201)."""
    try:
        wh = await endpoint(svc, who, app_id, endpoint_id)
    except NotFound:
        if endpoint_id.startswith("wh_"):
            raise
        ws = await application(svc, who, app_id)
        raw = hookline_body(body, full=True) | {"name": body.uid or endpoint_id}
        await _check_uid_free(svc, who, ws.id, raw["name"])
        raw["secret"] = body.secret
        if body.headers is not None:
            raw["headers"] = body.headers
        response.status_code = 201
        return endpoint_out(await svc.webhooks.create(who, ws.id, parse_create(raw)))
    await _check_uid_free(svc, who, wh.workspace_id, body.uid, but=wh.id)
    raw = hookline_body(body, full=True)
    if body.headers is not None:
        raw["headers"] = body.headers
    if body.secret is not None:
        raw["secret"] = body.secret
    return endpoint_out(await svc.webhooks.update(who, wh.id, parse_change(raw)))


@router.patch("/app/{app_id}/endpoint/{endpoint_id}", response_model=EndpointOut)
async def patch_endpoint(
    app_id: str, endpoint_id: str, body: EndpointPatch, svc: Svc, who: Who
) -> EndpointOut:
    wh = await endpoint(svc, who, app_id, endpoint_id)
    await _check_uid_free(svc, who, wh.workspace_id, body.uid, but=wh.id)
    raw = hookline_body(body, full=False)
    if body.secret is not None:
        raw["secret"] = body.secret
    return endpoint_out(await svc.webhooks.update(who, wh.id, parse_change(raw)))


@router.delete("/app/{app_id}/endpoint/{endpoint_id}", status_code=204, response_class=Response)
async def delete_endpoint(app_id: str, endpoint_id: str, svc: Svc, who: Who) -> Response:
    wh = await endpoint(svc, who, app_id, endpoint_id)
    await svc.webhooks.delete(who, wh.id)
    return Response(status_code=204)


@router.get("/app/{app_id}/endpoint/{endpoint_id}/headers", response_model=EndpointHeadersOut)
async def get_endpoint_headers(
    app_id: str, endpoint_id: str, svc: Svc, who: Who
) -> EndpointHeadersOut:
    wh = await endpoint(svc, who, app_id, endpoint_id)
    masked = [name for name, value in wh.headers.items() if value == MASKED]
    return EndpointHeadersOut(headers=wh.headers, sensitive=masked)


@router.put(
    "/app/{app_id}/endpoint/{endpoint_id}/headers", status_code=204, response_class=Response
)
async def update_endpoint_headers(
    app_id: str, endpoint_id: str, body: EndpointHeadersIn, svc: Svc, who: Who
) -> Response:
    wh = await endpoint(svc, who, app_id, endpoint_id)
    await svc.webhooks.update(who, wh.id, parse_change({"headers": body.headers}))
    return Response(status_code=204)


@router.patch(
    "/app/{app_id}/endpoint/{endpoint_id}/headers", status_code=204, response_class=Response
)
async def patch_endpoint_headers(
    app_id: str, endpoint_id: str, body: EndpointHeadersPatchIn, svc: Svc, who: Who
) -> Response:
    """Set the headers given and remove those in ``deleteHeaders``; the others stay."""
    wh = await endpoint(svc, who, app_id, endpoint_id)
    gone = {name.lower() for name in body.deleteHeaders or []}
    kept = {k: v for k, v in wh.headers.items() if k.lower() not in gone}
    given = {k.lower() for k in body.headers}
    headers = {k: v for k, v in kept.items() if k.lower() not in given} | body.headers
    await svc.webhooks.update(who, wh.id, parse_change({"headers": headers}))
    return Response(status_code=204)


@router.get("/app/{app_id}/endpoint/{endpoint_id}/secret", response_model=EndpointSecretOut)
async def get_endpoint_secret(
    app_id: str, endpoint_id: str, svc: Svc, who: Who
) -> EndpointSecretOut:
    wh = await endpoint(svc, who, app_id, endpoint_id)
    secret, _public = await svc.webhooks.secret(who, wh.id)
    return EndpointSecretOut(key=secret)


@router.post("/app/{app_id}/endpoint/{endpoint_id}/secret/rotate", response_model=EndpointSecretOut)
async def rotate_endpoint_secret(
    app_id: str,
    endpoint_id: str,
    svc: Svc,
    who: Who,
    body: Annotated[EndpointSecretRotateIn | None, Body()] = None,
) -> EndpointSecretOut:
    """Replace the secret; the old one signs too for ``gracePeriodSeconds`` (one day). Svix's
    server answers 204; today's SDKs read the new key from the answer, so it is given."""
    wh = await endpoint(svc, who, app_id, endpoint_id)
    body = body or EndpointSecretRotateIn()
    grace = DEFAULT_GRACE_SECONDS if body.gracePeriodSeconds is None else body.gracePeriodSeconds
    secret, _public = await svc.webhooks.rotate(who, wh.id, secret=body.key, grace_seconds=grace)
    return EndpointSecretOut(key=secret)


@router.post(
    "/app/{app_id}/endpoint/{endpoint_id}/recover", status_code=202, response_model=RecoverOut
)
async def recover_endpoint(
    app_id: str, endpoint_id: str, body: RecoverIn, svc: Svc, who: Who
) -> RecoverOut:
    """Send again every failed message since ``since`` (until ``until``)."""
    wh = await endpoint(svc, who, app_id, endpoint_id)
    window = {"since": time_param(body.since, "since"), "until": time_param(body.until, "until")}
    await svc.deliveries.recover(who, wh.id, window)
    return RecoverOut(id=new_id("qtask"), updatedAt=format_ms(now_ms()) or "")


@router.post("/app/{app_id}/endpoint/{endpoint_id}/send-example", response_model=MessageOut)
async def send_example(
    app_id: str, endpoint_id: str, body: EventExampleIn, svc: Svc, who: Who
) -> MessageOut:
    """Send the catalog's example of ``eventType`` to the endpoint now, as a test (flagged
    ``test``), whether or not the endpoint subscribes to the type; 422 ``no_example`` for a
    type without one. The catalog keeps one example per type: ``exampleIndex`` 0."""
    if body.exampleIndex:
        raise Invalid(
            "exampleIndex is not offered: the catalog keeps one example per event type.",
            code="not_offered",
            details=[{"field": "exampleIndex"}],
        )
    wh = await endpoint(svc, who, app_id, endpoint_id)
    et = await svc.catalog.get(who, body.eventType)
    dlv, _attempts = await svc.deliveries.send_example(who, wh.id, et)
    return MessageOut(
        id=dlv.event_id,
        eventId=None,
        eventType=et.name,
        payload=et.latest_example or {},
        timestamp=format_ms(dlv.created_at) or "",
    )


@router.get("/app/{app_id}/endpoint/{endpoint_id}/stats", response_model=EndpointStats)
async def endpoint_stats(
    app_id: str,
    endpoint_id: str,
    svc: Svc,
    who: Who,
    since: Annotated[str | None, Query(max_length=64)] = None,
    until: Annotated[str | None, Query(max_length=64)] = None,
) -> EndpointStats:
    """The endpoint's messages in the window by status (held ones count as pending, expired
    ones as failed)."""
    wh = await endpoint(svc, who, app_id, endpoint_id)
    flt = DeliveryFilter(
        webhook_id=wh.id, since=time_param(since, "since"), until=time_param(until, "until")
    )
    counts = dict.fromkeys(DeliveryStatus, 0)
    cursor: str | None = None
    while True:
        page = await svc.deliveries.search(who, flt, limit=MAX_LIMIT, cursor=cursor)
        for dlv in page.items:
            counts[dlv.status] += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    return EndpointStats(
        success=counts[DeliveryStatus.SUCCEEDED],
        pending=counts[DeliveryStatus.PENDING] + counts[DeliveryStatus.HELD],
        sending=counts[DeliveryStatus.SENDING],
        fail=counts[DeliveryStatus.FAILED] + counts[DeliveryStatus.EXPIRED],
    )
