"""What every router shares: the error responses it documents, small bodies."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hookline.api.routing import StrictJsonRoute
from hookline.api.schemas import ErrorResponse, In, Out

_MEANING = {
    400: "Malformed request (e.g. invalid JSON).",
    401: "Missing or unknown API key.",
    403: "The key's role does not allow this, or a plan limit is reached.",
    404: "No such resource (or it belongs to another workspace).",
    409: "Conflicts with the resource's state.",
    413: "Body too large.",
    422: "Invalid content; see error.code and error.details.",
    429: "Rate limited.",
    503: "The database cannot save anything right now: its disk is full (storage_full), or "
    "it is out of reach or out of resources (storage_unavailable). Send the request again "
    "after Retry-After seconds (an event sent again with its id is stored once).",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before sending the request again.",
        "schema": {"type": "integer"},
    }
}

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "model": ErrorResponse,
        "description": text,
        **({"headers": _RETRY_AFTER} if status == 503 else {}),
    }
    for status, text in _MEANING.items()
}


class NoFields(In):
    """A body with nothing in it: an action route takes no body, ``{}`` or ``null``; anything else
    is refused (malformed JSON 400, fields 422) as on every other route."""


class Deleted(Out):
    id: str
    deleted: bool = True


def v1_router(tag: str) -> APIRouter:
    """A router under /v1 that documents the error responses and parses strict JSON."""
    return APIRouter(prefix="/v1", tags=[tag], responses=ERRORS, route_class=StrictJsonRoute)
