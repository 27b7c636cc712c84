"""Svix's error shapes for the routes under /api/v1.

Svix answers an error with ``HttpErrorOut {code, detail}``, and a 422 with
``{detail: [{loc, msg, type}]}``; its SDKs read exactly those (a 422 in any other shape
breaks them). ``SvixRoute`` is the route class of every Svix router: it answers what
Hookline's own handlers would, in these shapes. A Hookline ``Invalid`` keeps its code as the
item's ``type`` and its field (when it names one) in ``loc``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from hookline.api.errors import HTTP_CODES, log
from hookline.api.routing import JsonResponse, StrictJsonRoute
from hookline.api.svix import idempotency
from hookline.errors import HooklineError


def http_error(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    return JsonResponse({"code": code, "detail": detail}, status_code=status, headers=headers)


def validation_error(items: list[dict[str, Any]]) -> Response:
    return JsonResponse({"detail": items}, status_code=422)


def _item(loc: list[str], msg: str, type_: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": type_}


def _from_hookline(exc: HooklineError) -> Response:
    if exc.status == 500:
        log.error("internal error: %s", exc)
        return http_error(500, "internal_error", "Something went wrong inside Hookline.")
    if exc.status == 422:
        return validation_error([_item(_loc(exc.details), exc.message, exc.error_code)])
    retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return http_error(exc.status, exc.error_code, exc.message, retry)


def _loc(details: list[Any] | None) -> list[str]:
    """Where the first detail points: its ``loc`` as given, or ``["body", …]`` of its
    ``field`` (dotted); else the body."""
    for detail in details or []:
        if isinstance(detail, dict) and isinstance(detail.get("loc"), list):
            return [str(part) for part in detail["loc"]]
        if isinstance(detail, dict) and isinstance(detail.get("field"), str):
            return ["body", *detail["field"].split(".")]
    return ["body"]


def _from_validation(exc: RequestValidationError) -> Response:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return http_error(400, "malformed_json", "The request body is not valid JSON.")
    return validation_error(
        [
            _item([str(p) for p in e.get("loc", ())], str(e.get("msg")), str(e.get("type")))
            for e in errors
        ]
    )


def _from_http(exc: HTTPException) -> Response:
    code = HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else "The request failed."
    return http_error(exc.status_code, code, detail, dict(exc.headers or {}))


class SvixRoute(StrictJsonRoute):
    """A route that answers errors as Svix does, and a POST repeated with the same
    ``idempotency-key`` by the same caller with its first answer (see ``idempotency``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def svix_handler(request: Request) -> Response:
            try:
                return await idempotency.answer(request, handler)
            except HooklineError as exc:
                return _from_hookline(exc)
            except RequestValidationError as exc:
                return _from_validation(exc)
            except HTTPException as exc:
                return _from_http(exc)

        return svix_handler
