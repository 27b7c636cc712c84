"""A Flask view decorator that verifies Hookline's deliveries.

    from flask import Flask, g
    from hookline.receive.flask import verify_webhook

    app = Flask(__name__)

    @app.post("/webhooks")
    @verify_webhook(secret=os.environ["WEBHOOK_SECRET"])
    def receive():
        event = g.webhook          # a hookline.receive.WebhookEvent
        return "", 204

A refused request gets 400 or 401 with ``{"ok": false, "error": {"code", "message"}}``
and the view is not called. With ``dedup=`` a store of ``hookline.receive.dedup``, a
delivery whose id was claimed before gets 200 ``{"ok": true, "duplicate": true, …}`` and
the view is not called; a view that raises or answers other than 2xx releases the claim.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, jsonify, make_response, request

from hookline.receive import Rejected, SecretSource, Verifier
from hookline.receive.dedup import DeliveryStore, Duplicate, run_once

F = TypeVar("F", bound=Callable[..., Any])


def verify_webhook(
    secret: SecretSource | None = None, *, dedup: DeliveryStore | None = None, **options: Any
) -> Callable[[F], F]:
    """Verify each request to the view (``options``: those of ``Verifier``); with
    ``dedup``, run the view once per delivery id."""
    verifier = Verifier(secret=secret, **options)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            try:
                g.webhook = verifier.check(
                    dict(request.headers),
                    request.get_data(),
                    method=request.method,
                    url=request.url,
                )
            except Rejected as exc:
                return jsonify(exc.body()), exc.status
            if dedup is None:
                return view(*args, **kwargs)
            try:
                return run_once(
                    dedup,
                    g.webhook,
                    lambda: make_response(view(*args, **kwargs)),
                    lambda response: response.status_code,
                )
            except Duplicate as exc:
                return jsonify(exc.body()), exc.status

        return checked  # type: ignore[return-value]

    return decorate
