"""Operations endpoints every process serves: /healthz, /readyz, /metrics."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hookline.api.deps import Svc
from hookline.api.schemas import ErrorResponse, Health
from hookline.errors import StorageFull, Unauthorized
from hookline.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])


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


_metrics_bearer = HTTPBearer(
    scheme_name="metricsToken",
    description="HOOKLINE_METRICS_TOKEN, when the deployment sets one.",
    auto_error=False,
)
MetricsCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(_metrics_bearer)]


@router.get(
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
async def metrics(svc: Svc, credentials: MetricsCredentials) -> Response:
    """Prometheus metrics: events ingested, deliveries by outcome, attempt durations,
    queue depth by status and the oldest due delivery's lag.

    With HOOKLINE_METRICS_TOKEN set, only for `Authorization: Bearer <that token>`."""
    token = svc.ctx.settings.metrics_token
    if token is not None and not (
        credentials is not None
        and hmac.compare_digest(
            credentials.credentials.strip().encode(), token.get_secret_value().encode()
        )
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
