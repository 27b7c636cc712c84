"""JSON in and out of the API: strict on the way in, always encodable on the way out.

Python's ``json`` accepts ``NaN``, ``Infinity`` and ``-Infinity``, which JSON
does not have; they would be stored and come back as something else. Here they
are malformed JSON (400 ``malformed_json``), as are bytes that are not UTF-8
and nesting too deep to parse.

JSON may carry lone surrogates (``"\\ud800"``) and event payloads keep them
as sent; UTF-8 cannot hold them, so responses write them escaped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute


def loads(body: bytes) -> Any:
    """Parse a request body, raising ``JSONDecodeError`` for anything that is not JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("the body is not UTF-8", "", exc.start) from exc

    def refuse(name: str) -> Any:
        raise json.JSONDecodeError(f"{name} is not valid JSON", text, text.find(name))

    try:
        return json.loads(text, parse_constant=refuse)
    except RecursionError as exc:
        raise json.JSONDecodeError("the body is nested too deeply", "", 0) from exc


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler


class JsonResponse(JSONResponse):
    """Compact UTF-8 JSON; a lone surrogate is written as its ``\\uXXXX`` escape."""

    def render(self, content: Any) -> bytes:
        options: dict[str, Any] = {"allow_nan": False, "separators": (",", ":")}
        try:
            return json.dumps(content, ensure_ascii=False, **options).encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, **options).encode("ascii")
