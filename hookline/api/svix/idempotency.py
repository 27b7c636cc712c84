"""``idempotency-key`` on every POST, as Svix honours it (its SDKs send one on each POST and
send the same request again with it after a lost answer or a 5xx).

The first successful (2xx) answer to a key is kept a day per caller (the API key's id) and
given again to a repeat without doing anything twice. The same key on another request of
the same caller is 409 ``idempotency_key_reused``. Two requests with one key at the same
moment may both run; the first answer kept is the one given after.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from hookline.errors import Conflict, HooklineError
from hookline.ids import now_ms
from hookline.service import Services
from hookline.store.port import KeptAnswer

HEADER = "idempotency-key"
MAX_KEY = 256


async def answer(request: Request, handler: Callable[[Request], Awaitable[Response]]) -> Response:
    """The answer of ``handler`` to ``request``, or the one kept for its idempotency key."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or not key or len(key) > MAX_KEY:
        return await handler(request)
    svc: Services = request.app.state.services
    owner = await _owner(svc, request)
    if owner is None:
        return await handler(request)
    asked = f"POST {request.url.path}?{request.url.query}"
    kept = await svc.ctx.store.get_answer(owner, key)
    if kept is not None:
        if kept.request != asked:
            raise Conflict(
                "This idempotency-key was sent with another request.",
                code="idempotency_key_reused",
            )
        return Response(kept.body, status_code=kept.status, media_type="application/json")
    response = await handler(request)
    if 200 <= response.status_code < 300:
        body = bytes(response.body).decode()
        await svc.ctx.store.keep_answer(
            owner,
            key,
            KeptAnswer(request=asked, status=response.status_code, body=body),
            now=now_ms(),
        )
    return response


async def _owner(svc: Services, request: Request) -> str | None:
    """The id of the caller's key (None: no known key, which the route itself refuses)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        who = await svc.authenticate(token.strip())
    except HooklineError:
        return None
    return who.key_id
