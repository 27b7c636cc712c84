"""The one place errors become HTTP responses.

A ``HooklineError`` keeps its status and code (a storage error is a 503 with a
``Retry-After``); a malformed body is 400, a body that does not fit the schema is 422
``validation_error`` with the failing fields; anything unexpected is logged with
context and becomes a bare 500.

The unexpected ones are answered by ``AnswerUnexpected``, innermost of the
middleware, not by an exception handler for ``Exception``: Starlette gives such a
handler to its outermost middleware, which re-raises after answering, and uvicorn
then logs the error a second time and closes the connection, so a client's next
request on that keep-alive connection is dropped without an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookline.api.routing import JsonResponse
from hookline.errors import HooklineError

log = logging.getLogger("hookline.api")
rejected_log = logging.getLogger("hookline.api.rejected")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"ok": False, "error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status_code=status, headers=headers)


def rejected(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JsonResponse:
    """The error response to a request refused for what it asked, logged in one line: at
    info level in dev mode (so a developer sees why), at debug level otherwise."""
    services = getattr(request.app.state, "services", None)
    level = logging.INFO if services is not None and services.ctx.settings.dev else logging.DEBUG
    if rejected_log.isEnabledFor(level):
        rejected_log.log(
            level,
            "%s %s → %d %s: %s",
            request.method,
            request.url.path,
            status,
            code,
            message,
            extra={
                "fields": {
                    "method": request.method,
                    "path": request.url.path,
                    "status": status,
                    "code": code,
                }
            },
        )
    return error_response(status, code, message, details, headers)


async def _hookline_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, HooklineError)
    if exc.status == 500:
        log.error("internal error: %s", exc)
        return _internal_error()
    retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return rejected(request, exc.status, exc.error_code, exc.message, exc.details, retry)


async def _validation_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return rejected(request, 400, "malformed_json", "The request body is not valid JSON.")
    details = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
            "message": e.get("msg"),
        }
        for e in errors
    ]
    first = details[0] if details else None
    where = f": {first['field']}: {first['message']}" if first and first["field"] else ""
    more = f" (and {len(details) - 1} more, see details)" if len(details) > 1 else ""
    message = f"The request does not fit the API{where}{more}."
    return rejected(request, 422, "validation_error", message, details)


async def _http_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "The request failed."
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return rejected(request, exc.status_code, code, message, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    # FastAPI >= 0.120 keeps included routers unflattened; iter_route_contexts flattens them.
    flatten = getattr(fastapi.routing, "iter_route_contexts", lambda routes: routes)
    methods: set[str] = set()
    for route in flatten(request.app.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def _internal_error() -> JsonResponse:
    return error_response(500, "internal_error", "Something went wrong inside Hookline.")


class AnswerUnexpected:
    """ASGI middleware: an exception no handler took is logged and answered with the bare
    500, and goes no further. Once the response has started nothing can be answered: the
    exception goes on, and the server ends that connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            request = Request(scope)
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            if started:
                raise
            await _internal_error()(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_exception_handler(HooklineError, _hookline_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_middleware(AnswerUnexpected)
