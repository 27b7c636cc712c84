"""Operations endpoints every process serves: /healthz, /readyz, and /metrics (``metrics_router``:
on the HTTP port, or on a listener of its own with HOOKLINE_METRICS_ADDRESS)."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from hookline.api.deps import Svc
from hookline.api.schemas import ErrorResponse, Health
from hookline.errors import StorageFull, Unauthorized
from hookline.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])
metrics_router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={
        503: {
            "model": Health,
            "description": "The database is unreachable (status `unavailable`), or out of "
            "space: writes fail until space is freed (status `storage_full`).",
        }
    },
)
async def readyz(svc: Svc) -> Any:
    """The database is reachable and takes writes.

    A full database is known from the last write that needed space; while it lasts, this
    tries a small write at most once a second to see whether space is back. Otherwise it
    only reads."""
    store = svc.ctx.store
    try:
        await store.ping()
    except Exception:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    try:
        await store.ensure_writable()
    except StorageFull:
        return JSONResponse({"status": "storage_full"}, status_code=503)
    return Health(status="ok")


@metrics_router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format."},
        401: {
            "model": ErrorResponse,
            "description": "The deployment sets HOOKLINE_METRICS_TOKEN and the request does "
            "not bear it (`unauthorized`).",
        },
        503: {"model": Health, "description": "The database is unreachable."},
    },
)
async def metrics(svc: Svc, request: Request) -> Response:
    """Prometheus metrics: events ingested, deliveries by outcome, attempt durations,
    queue depth by status and the oldest due delivery's lag.

    With HOOKLINE_METRICS_TOKEN set, only for `Authorization: Bearer <that token>`."""
    token = svc.ctx.settings.metrics_token
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if token is not None and not (
        scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode())
    ):
        raise Unauthorized(
            "/metrics needs this deployment's metrics token: send it as "
            "'Authorization: Bearer <HOOKLINE_METRICS_TOKEN>'."
        )
    try:
        body = await svc.ctx.metrics.render(svc.ctx.store)
    except Exception:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return Response(body, media_type=CONTENT_TYPE)
