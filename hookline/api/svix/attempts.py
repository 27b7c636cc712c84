"""Message attempts: the attempts of Hookline's deliveries, with Svix's status numbers and
trigger types; attempted messages and destinations are deliveries seen from each side.

Pages go over deliveries: a page of attempts holds every attempt of up to ``limit``
deliveries, newest first, and its iterator is the next page of deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Query
from pydantic import BaseModel

from hookline.api.deps import Svc, Who, time_param
from hookline.api.routes.common import NoFields
from hookline.api.svix.common import Iterator, Limit, endpoint, svix_router
from hookline.api.svix.messages import message
from hookline.api.svix.wire import (
    DELIVERY_STATUS,
    EmptyResponse,
    EndpointMessageOut,
    ListResponse,
    MessageAttemptOut,
    MessageEndpointOut,
    attempt_out,
    endpoint_message_out,
    message_endpoint_out,
    message_out,
    page_of,
)
from hookline.domain.models import Delivery, DeliveryStatus
from hookline.errors import Invalid, NotFound
from hookline.service import Principal, Services
from hookline.store.port import DeliveryFilter, Page

router = svix_router("message attempts")
WithContent = Annotated[bool, Query()]
Before = Annotated[str | None, Query(max_length=64)]
After = Annotated[str | None, Query(max_length=64)]
# Svix's status number → the delivery statuses it stands for.
STATUSES: dict[int, list[DeliveryStatus]] = {}
for _status, (_number, _text) in DELIVERY_STATUS.items():
    STATUSES.setdefault(_number, []).append(_status)


class UnofferedFilters(BaseModel):
    """Svix's filters of attempt lists that Hookline's delivery log has no index for:
    refused (422) when given, rather than ignored."""

    channel: str | None = None
    tag: str | None = None
    event_types: str | None = None
    status_code_class: int | None = None

    def refuse(self) -> None:
        for name, value in self.model_dump().items():
            if value is not None:
                raise Invalid(
                    f"{name} is not offered as a filter here.",
                    code="not_offered",
                    details=[{"loc": ["query", name]}],
                )


Unoffered = Annotated[UnofferedFilters, Query()]


async def _endpoint_deliveries(
    svc: Services,
    who: Principal,
    app_id: str,
    endpoint_id: str,
    status: int | None,
    before: str | None,
    after: str | None,
    limit: int,
    iterator: str | None,
) -> Page[Delivery]:
    """A page of the endpoint's deliveries, newest first, by Svix's status and time window."""
    wh = await endpoint(svc, who, app_id, endpoint_id)
    flt = DeliveryFilter(
        webhook_id=wh.id,
        status=_status_of(status),
        since=time_param(after, "after"),
        until=time_param(before, "before"),
    )
    return await svc.deliveries.search(who, flt, limit=limit, cursor=iterator)


def _status_of(number: int | None) -> DeliveryStatus | None:
    """The one delivery status a Svix status filter names (pending also holds ``held``:
    refused, since a filter here takes one)."""
    if number is None:
        return None
    found = STATUSES.get(number, [])
    if not found:
        raise Invalid(
            "status is 0 (success), 1 (pending), 2 (fail) or 3 (sending).",
            code="invalid_status",
            details=[{"field": "status"}],
        )
    return found[0]


async def _message_deliveries(
    svc: Services, who: Principal, app_id: str, msg_id: str
) -> list[Delivery]:
    event = await message(svc, who, app_id, msg_id)
    _event, deliveries = await svc.events.get(who, event.id)
    return deliveries


@router.get(
    "/app/{app_id}/attempt/endpoint/{endpoint_id}",
    response_model=ListResponse[MessageAttemptOut],
)
async def list_by_endpoint(
    app_id: str,
    endpoint_id: str,
    svc: Svc,
    who: Who,
    unoffered: Unoffered,
    limit: Limit = 50,
    iterator: Iterator = None,
    status: Annotated[int | None, Query()] = None,
    before: Before = None,
    after: After = None,
    with_content: WithContent = True,
    with_msg: Annotated[bool, Query()] = False,
) -> ListResponse[MessageAttemptOut]:
    unoffered.refuse()
    page = await _endpoint_deliveries(
        svc, who, app_id, endpoint_id, status, before, after, limit, iterator
    )
    out: list[MessageAttemptOut] = []
    for dlv in page.items:
        _dlv, event, attempts = await svc.deliveries.detail(who, dlv.id)
        msg = message_out(event, with_content=False) if with_msg and event else None
        out += [attempt_out(a, dlv, with_content=with_content, msg=msg) for a in reversed(attempts)]
    return page_of(page, out)


@router.get("/app/{app_id}/attempt/msg/{msg_id}", response_model=ListResponse[MessageAttemptOut])
async def list_by_msg(
    app_id: str,
    msg_id: str,
    svc: Svc,
    who: Who,
    endpoint_id: Annotated[str | None, Query()] = None,
    with_content: WithContent = True,
) -> ListResponse[MessageAttemptOut]:
    """Every attempt of the message (one page), to one endpoint if asked."""
    deliveries = await _message_deliveries(svc, who, app_id, msg_id)
    if endpoint_id is not None:
        wh = await endpoint(svc, who, app_id, endpoint_id)
        deliveries = [d for d in deliveries if d.webhook_id == wh.id]
    out: list[MessageAttemptOut] = []
    for dlv in deliveries:
        _dlv, _event, attempts = await svc.deliveries.detail(who, dlv.id)
        out += [attempt_out(a, dlv, with_content=with_content) for a in reversed(attempts)]
    return ListResponse[MessageAttemptOut](data=out, iterator=None, done=True)


@router.get("/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}", response_model=MessageAttemptOut)
async def get_attempt(
    app_id: str, msg_id: str, attempt_id: str, svc: Svc, who: Who
) -> MessageAttemptOut:
    for dlv in await _message_deliveries(svc, who, app_id, msg_id):
        _dlv, _event, attempts = await svc.deliveries.detail(who, dlv.id)
        for attempt in attempts:
            if attempt.id == attempt_id:
                return attempt_out(attempt, dlv)
    raise NotFound("No such attempt.")


@router.get("/app/{app_id}/msg/{msg_id}/endpoint", response_model=ListResponse[MessageEndpointOut])
async def list_attempted_destinations(
    app_id: str, msg_id: str, svc: Svc, who: Who
) -> ListResponse[MessageEndpointOut]:
    """The endpoints the message went to, each with its latest delivery's status (one page)."""
    latest: dict[str, Delivery] = {}
    for dlv in await _message_deliveries(svc, who, app_id, msg_id):
        if dlv.webhook_id not in latest or dlv.id > latest[dlv.webhook_id].id:
            latest[dlv.webhook_id] = dlv
    out = [
        message_endpoint_out(await svc.webhooks.get(who, wh_id), dlv)
        for wh_id, dlv in latest.items()
    ]
    return ListResponse[MessageEndpointOut](data=out, iterator=None, done=True)


@router.get(
    "/app/{app_id}/endpoint/{endpoint_id}/msg", response_model=ListResponse[EndpointMessageOut]
)
async def list_attempted_messages(
    app_id: str,
    endpoint_id: str,
    svc: Svc,
    who: Who,
    unoffered: Unoffered,
    limit: Limit = 50,
    iterator: Iterator = None,
    status: Annotated[int | None, Query()] = None,
    before: Before = None,
    after: After = None,
) -> ListResponse[EndpointMessageOut]:
    """The messages sent to the endpoint, one per delivery, newest first."""
    unoffered.refuse()
    page = await _endpoint_deliveries(
        svc, who, app_id, endpoint_id, status, before, after, limit, iterator
    )
    out: list[EndpointMessageOut] = []
    for dlv in page.items:
        _dlv, event, _attempts = await svc.deliveries.detail(who, dlv.id)
        if event is not None:
            out.append(endpoint_message_out(event, dlv))
    return page_of(page, out)


@router.post(
    "/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend",
    status_code=202,
    response_model=EmptyResponse,
)
async def resend(
    app_id: str,
    msg_id: str,
    endpoint_id: str,
    svc: Svc,
    who: Who,
    _body: Annotated[NoFields | None, Body()] = None,
) -> EmptyResponse:
    """Send the message to the endpoint again, as a new delivery of its latest one."""
    wh = await endpoint(svc, who, app_id, endpoint_id)
    deliveries = [
        d for d in await _message_deliveries(svc, who, app_id, msg_id) if d.webhook_id == wh.id
    ]
    if not deliveries:
        raise NotFound("The message was not sent to this endpoint.")
    await svc.deliveries.resend(who, max(deliveries, key=lambda d: d.id).id)
    return EmptyResponse()
