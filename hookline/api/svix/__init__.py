"""The Svix-compatible API under /api/v1: Svix's shapes over Hookline's service layer.

An application is a workspace, an endpoint a webhook, a message an event and a message
attempt an attempt. Each route turns Svix's body into what the service takes (for webhooks,
the body of Hookline's own routes, parsed by the same parser) and the service's answer into
Svix's shape; no rule of Hookline is written twice. See docs/svix.md.
"""

from __future__ import annotations

from fastapi import FastAPI

from hookline.api.svix import (
    applications,
    attempts,
    endpoints,
    event_types,
    messages,
    portal,
)
from hookline.api.svix.common import svix_router
from hookline.errors import NotFound

ROUTERS = (
    applications.router,
    endpoints.router,
    messages.router,
    attempts.router,
    event_types.router,
    portal.router,
    portal.health_router,
)


unknown = svix_router("unknown")


@unknown.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
async def no_such_operation(path: str) -> None:
    """Any other path under /api/v1: Svix's 404, in its shape."""
    raise NotFound(f"No operation /api/v1/{path} here (see docs/svix.md).")


def install(app: FastAPI) -> None:
    for router in (*ROUTERS, unknown):
        app.include_router(router)
