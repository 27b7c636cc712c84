"""The FastAPI application: routers, error mapping, health and metrics endpoints, the UI."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline

from hookline import __version__, tracing, ui
from hookline.api import errors, svix
from hookline.api.routes import (
    configuration,
    deliveries,
    event_types,
    events,
    operations,
    webhooks,
    workspaces,
)
from hookline.api.routing import JsonResponse
from hookline.api.schemas import EventBatchIn, EventIn
from hookline.service import Services

DESCRIPTION = """Hookline delivers your product's events to your customers' webhooks:
signed, retried on a schedule and logged attempt by attempt.

Authenticate with `Authorization: Bearer <key>`: the admin key, or a workspace key
(`owner`, `admin`, `member`, `publisher`). Every success is `{"ok": true, "data": …}`;
every error is `{"ok": false, "error": {"code", "message", "details"?}}`."""


FAVICON = f"{ui.STATIC_PATH}/favicon.svg"


def create_app(services: Services) -> FastAPI:
    # The API docs (Swagger UI at /docs) load their scripts from Hookline itself, not from
    # a CDN: they work on a machine without internet.
    app = FastAPIOffline(
        title="Hookline",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        static_url="/docs-assets",
        favicon_url=FAVICON,
        swagger_ui_parameters={"validatorUrl": None},
        default_response_class=JsonResponse,
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.services = services

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/ui", status_code=307)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> RedirectResponse:
        return RedirectResponse(FAVICON, status_code=308)

    errors.install(app)
    if tracing.enabled():
        app.add_middleware(tracing.InboundContext)
    for module in (
        workspaces,
        event_types,
        webhooks,
        events,
        deliveries,
        operations,
        configuration,
    ):
        app.include_router(module.router)
    _metrics_here(app, services)
    svix.install(app)
    app.include_router(ui.router)
    app.mount(ui.STATIC_PATH, ui.static_files(), name="ui-static")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            ref = "#/components/schemas/{model}"
            components["EventIn"] = EventIn.model_json_schema(ref_template=ref)
            batch = EventBatchIn.model_json_schema(ref_template=ref)
            batch.pop("$defs", None)
            components["EventBatchIn"] = batch
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def create_ops_app(services: Services) -> FastAPI:
    """The worker role's HTTP surface: only the operations endpoints."""
    app = _undocumented("Hookline worker", services)
    app.include_router(operations.router)
    _metrics_here(app, services)
    return app


def create_metrics_app(services: Services) -> FastAPI:
    """The listener of HOOKLINE_METRICS_ADDRESS: ``/metrics`` alone."""
    app = _undocumented("Hookline metrics", services)
    app.include_router(operations.metrics_router)
    return app


def _undocumented(title: str, services: Services) -> FastAPI:
    """An app without API docs, with the services and the error answers of every app."""
    app = FastAPI(title=title, version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = services
    errors.install(app)
    return app


def _metrics_here(app: FastAPI, services: Services) -> None:
    """``/metrics`` on the HTTP port, unless it has a listener of its own."""
    if services.ctx.settings.metrics_listener is None:
        app.include_router(operations.metrics_router)
