"""The admin UI and customer portal at /ui: server-rendered pages on the
service layer, signed in with a key or a portal link.

    session.py   signed session cookies, CSRF tokens, portal tokens
    portal.py    issuing portal links (the API's POST /v1/workspaces/{wId}/portal-link)
    web.py       templates, the signed-in Viewer, forms, errors as pages
    forms.py     the webhook form and its validation messages
    charts.py    the last 24 hours as inline SVG
    routes/      auth, workspaces, webhooks, logs; keys and workspace_settings (operators')
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.staticfiles import StaticFiles

from hookline.ui.routes import auth, keys, logs, webhooks, workspace_settings, workspaces
from hookline.ui.web import HERE

STATIC_PATH = "/ui/static"

router = APIRouter(include_in_schema=False)
for module in (auth, workspaces, webhooks, logs, keys, workspace_settings):
    router.include_router(module.router)


def static_files() -> StaticFiles:
    """The UI's one stylesheet and one script, served by Hookline itself."""
    return StaticFiles(directory=HERE / "static")


__all__ = ["STATIC_PATH", "router", "static_files"]
