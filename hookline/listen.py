"""``hookline listen``: a development receiver that verifies and prints deliveries."""

from __future__ import annotations

import json
from datetime import datetime
from http import HTTPStatus

from aiohttp import web

from hookline.verify import VerificationError, detect_scheme, verify


def make_app(*, secret: str | None, status: int, public_key: str | None = None) -> web.Application:
    """A receiver that detects each delivery's signature scheme and verifies it, and answers
    ``status`` with its reason phrase as the body (``OK``, ``Internal Server Error``)."""
    reply = _reason(status)

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        headers = dict(request.headers)
        scheme = detect_scheme(headers)
        brand_event = next((k for k in headers if k.lower().endswith("-event")), "X-Hookline-Event")
        brand = brand_event[2:-6]
        if scheme == "none" or (secret is None and public_key is None):
            verdict = f"unverified ({scheme}; no --secret)" if scheme != "none" else "unsigned"
        else:
            try:
                verify(
                    scheme,
                    headers,
                    body,
                    secret=secret,
                    public_key=public_key,
                    brand=brand,
                    method=request.method,
                    url=str(request.url),
                )
                verdict = f"{scheme} signature OK"
            except VerificationError as exc:
                print(f"{stamp} REJECTED {request.method} {request.path}: {exc}", flush=True)
                return web.json_response({"error": str(exc)}, status=401)
        event_type = headers.get(brand_event, "?")
        delivery = headers.get(f"X-{brand}-Delivery", "?")
        print(f"{stamp} {request.method} {request.path} {event_type} {delivery} — {verdict}")
        try:
            print(json.dumps(json.loads(body), indent=2, ensure_ascii=False), flush=True)
        except ValueError:
            print(body.decode("utf-8", errors="replace"), flush=True)
        return web.Response(status=status, text=None if status in _NO_BODY else reply)

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", receive)
    return app


_NO_BODY = frozenset({204, 304})  # statuses whose answers have no body


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"status {status}"


def run_listener(
    *, host: str, port: int, secret: str | None, status: int, public_key: str | None = None
) -> None:
    print(f"Listening on http://{host}:{port}/ — answering {status}", flush=True)
    app = make_app(secret=secret, status=status, public_key=public_key)
    web.run_app(app, host=host, port=port, print=None)
