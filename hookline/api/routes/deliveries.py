"""Deliveries and their attempts: the Send Logs, detail and resend."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Body, Query
from pydantic import BaseModel, Field

from hookline.api.deps import Cursor, Limit, Svc, Who, time_param
from hookline.api.routes.common import NoFields, v1_router
from hookline.api.schemas import (
    DeliveryDetail,
    DeliveryOut,
    ErrorResponse,
    Ok,
    OkList,
    TimeIn,
    attempt_out,
    delivery_out,
    event_out,
)
from hookline.domain import jsjson
from hookline.domain.models import DeliveryStatus
from hookline.store.port import DeliveryFilter

router = v1_router("deliveries")


class DeliveryQuery(BaseModel):
    status: (
        Literal["pending", "held", "sending", "succeeded", "failed", "expired", "cancelled"] | None
    ) = None
    eventType: str | None = Field(None, max_length=128)
    eventId: str | None = Field(None, max_length=128)
    since: TimeIn | None = Field(None, description="Created at or after (RFC 3339).")
    until: TimeIn | None = Field(None, description="Created before (RFC 3339).")
    q: str | None = Field(None, max_length=200, description="Search event id, type and payload.")
    stuck: bool | None = Field(
        None, description="true: only stuck deliveries (see a delivery's stuck); false: the others."
    )


def delivery_filter(
    query: DeliveryQuery, *, webhook_id: str | None = None, workspace_id: str | None = None
) -> DeliveryFilter:
    return DeliveryFilter(
        workspace_id=workspace_id,
        webhook_id=webhook_id,
        status=None if query.status is None else DeliveryStatus(query.status),
        event_type=query.eventType,
        event_id=query.eventId,
        since=time_param(query.since, "since"),
        until=time_param(query.until, "until"),
        q=query.q or None,
        stuck=query.stuck,
    )


@router.get("/workspaces/{wId}/deliveries", response_model=OkList[DeliveryOut])
async def list_workspace_deliveries(
    wId: str,
    svc: Svc,
    who: Who,
    query: Annotated[DeliveryQuery, Query()],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> OkList[DeliveryOut]:
    """The Send Logs of a whole workspace, newest first; q searches event id, type and payload."""
    page = await svc.deliveries.search(
        who, delivery_filter(query, workspace_id=wId), limit=limit, cursor=cursor
    )
    return OkList(data=[delivery_out(d) for d in page.items], nextCursor=page.next_cursor)


@router.get("/deliveries/{dlvId}", response_model=Ok[DeliveryDetail])
async def get_delivery(dlvId: str, svc: Svc, who: Who) -> Ok[DeliveryDetail]:
    """A delivery with its event payload and every attempt's request and response."""
    dlv, event, attempts = await svc.deliveries.detail(who, dlvId)
    detail = DeliveryDetail(
        **delivery_out(dlv).model_dump(),
        event=event_out(event, jsjson.loads(event.data_json)) if event else None,
        attempts=[attempt_out(a) for a in attempts],
    )
    return Ok(data=detail)


@router.post(
    "/deliveries/{dlvId}/retry",
    status_code=202,
    response_model=Ok[DeliveryOut],
    responses={
        409: {
            "model": ErrorResponse,
            "description": "The delivery is not pending, so there is no attempt to move: "
            "`delivery_finished` (it succeeded or failed; resend it instead), "
            "`delivery_in_progress` (an attempt is under way), `webhook_paused` (its "
            "deliveries are held until the webhook is resumed), `webhook_disabled`, or "
            "`delivery_queued` (a FIFO webhook's older delivery is unfinished and goes first).",
        }
    },
)
async def retry(
    dlvId: str, svc: Svc, who: Who, _body: Annotated[NoFields | None, Body()] = None
) -> Ok[DeliveryOut]:
    """Make a pending delivery's next attempt now instead of when its retry schedule says.

    No new delivery is made: the attempt counts against the retry policy as scheduled ones
    do, and the rest of the schedule follows from it. Needs a key that may manage the
    webhook (owner or admin)."""
    return Ok(data=delivery_out(await svc.deliveries.retry_now(who, dlvId)))


@router.post("/deliveries/{dlvId}/resend", status_code=202, response_model=Ok[DeliveryOut])
async def resend(
    dlvId: str, svc: Svc, who: Who, _body: Annotated[NoFields | None, Body()] = None
) -> Ok[DeliveryOut]:
    """Send the event again to the webhook's current URL as a new delivery tagged resent."""
    return Ok(data=delivery_out(await svc.deliveries.resend(who, dlvId)))
