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

ROUTERS = (
    applications.router,
    endpoints.router,
    messages.router,
    attempts.router,
    event_types.router,
    portal.router,
    portal.health_router,
)


def install(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
