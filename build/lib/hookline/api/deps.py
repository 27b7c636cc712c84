"""Request dependencies: the services, the caller, paging and time filters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hookline.errors import Invalid
from hookline.ids import MAX_TIME_MS, parse_time
from hookline.service import Principal, Services


def _services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


async def services(request: Request) -> Services:
    """The services (async: FastAPI would run a plain function on a thread per request)."""
    return _services(request)


_bearer = HTTPBearer(
    scheme_name="bearer",
    description="The admin key, or a workspace API key (owner, admin, member, publisher).",
    auto_error=False,
)


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    """The caller behind ``Authorization: Bearer <key>``; 401 without a known key."""
    key = credentials.credentials.strip() if credentials is not None else None
    return await _services(request).authenticate(key)


Svc = Annotated[Services, Depends(services)]
Who = Annotated[Principal, Depends(principal)]
Limit = Annotated[int, Query(ge=1, le=250, description="Page size (default 50, max 250).")]
Cursor = Annotated[
    str | None, Query(max_length=200, description="nextCursor of the previous page.")
]


def time_param(value: str | None, name: str) -> int | None:
    """A time filter in epoch milliseconds; 422 ``invalid_time`` unless RFC 3339 (or unix seconds)."""
    if value is None:
        return None
    try:
        ms = parse_time(value)
    except (ValueError, OverflowError, OSError):
        ms = None
    if ms is None or not -MAX_TIME_MS <= ms <= MAX_TIME_MS:
        raise Invalid(
            f"{name} must be an RFC 3339 time such as 2026-03-18T10:05:00Z.", code="invalid_time"
        )
    return ms
