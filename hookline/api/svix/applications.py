"""Applications: Hookline's workspaces, by the workspace id (which is the uid when the
product chose it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from hookline.api.deps import Svc, Who
from hookline.api.svix.common import Iterator, Limit, Order, application, svix_router
from hookline.api.svix.wire import (
    ApplicationIn,
    ApplicationOut,
    ApplicationPatch,
    ListResponse,
    application_out,
    page_of,
)
from hookline.domain.models import Workspace
from hookline.domain.workspace_settings import svix_settings
from hookline.errors import Invalid, NotFound
from hookline.service import Principal, Services

router = svix_router("applications")


def refuse_unoffered(body: ApplicationIn | ApplicationPatch) -> None:
    """An application's throttle rate has no Hookline counterpart (a webhook has a rate
    limit, a workspace none): refused, rather than accepted and lost."""
    if body.throttleRate is not None:
        raise Invalid(
            "throttleRate is not offered for applications; set it on each endpoint.",
            code="not_offered",
            details=[{"field": "throttleRate"}],
        )


async def create_application(svc: Services, who: Principal, body: ApplicationIn) -> Workspace:
    """A workspace for the application, delivering in Svix's wire format (``svix-*`` headers,
    the payload as the body), as receivers written against Svix expect."""
    refuse_unoffered(body)
    fields: dict[str, Any] = {
        "name": body.name,
        "metadata": body.metadata,
        "settings": svix_settings(),
    }
    if body.uid:
        fields["id"] = body.uid
    return await svc.workspaces.create(who, fields)


@router.get("/app", response_model=ListResponse[ApplicationOut])
async def list_applications(
    svc: Svc, who: Who, limit: Limit = 50, iterator: Iterator = None, order: Order = None
) -> ListResponse[ApplicationOut]:
    page = await svc.workspaces.list(who, limit=limit, cursor=iterator)
    return page_of(page, [application_out(ws) for ws in page.items])


@router.post("/app", status_code=201, response_model=ApplicationOut)
async def create(
    body: ApplicationIn,
    svc: Svc,
    who: Who,
    response: Response,
    get_if_exists: Annotated[bool, Query()] = False,
) -> ApplicationOut:
    if get_if_exists and body.uid:
        try:
            found = await svc.workspaces.get(who, body.uid)
        except NotFound:
            pass
        else:
            response.status_code = 200
            return application_out(found)
    return application_out(await create_application(svc, who, body))


@router.get("/app/{app_id}", response_model=ApplicationOut)
async def get(app_id: str, svc: Svc, who: Who) -> ApplicationOut:
    return application_out(await application(svc, who, app_id))


@router.put("/app/{app_id}", response_model=ApplicationOut)
async def update(
    app_id: str, body: ApplicationIn, svc: Svc, who: Who, response: Response
) -> ApplicationOut:
    """Update the application, or create it with ``app_id`` as its uid (201)."""
    refuse_unoffered(body)
    _same_uid(app_id, body.uid)
    try:
        await application(svc, who, app_id)
    except NotFound:
        if app_id.startswith("ws_") or not who.is_admin:
            raise
        response.status_code = 201
        created = body.model_copy(update={"uid": app_id})
        return application_out(await create_application(svc, who, created))
    fields = {"name": body.name, "metadata": body.metadata}
    return application_out(await svc.workspaces.update(who, app_id, fields))


@router.patch("/app/{app_id}", response_model=ApplicationOut)
async def patch(app_id: str, body: ApplicationPatch, svc: Svc, who: Who) -> ApplicationOut:
    refuse_unoffered(body)
    _same_uid(app_id, body.uid)
    fields = body.model_dump(include={"name", "metadata"}, exclude_none=True)
    return application_out(await svc.workspaces.update(who, app_id, fields))


@router.delete("/app/{app_id}", status_code=204, response_class=Response)
async def delete(app_id: str, svc: Svc, who: Who) -> Response:
    await svc.workspaces.delete(who, app_id)
    return Response(status_code=204)


def _same_uid(app_id: str, uid: str | None) -> None:
    """An application's uid is its workspace's id, which does not change."""
    if uid is not None and uid != app_id:
        raise Invalid(
            "uid cannot change: it is the workspace's id.",
            code="uid_immutable",
            details=[{"field": "uid"}],
        )
