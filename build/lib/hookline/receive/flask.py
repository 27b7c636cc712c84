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
and the view is not called.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, jsonify, request

from hookline.receive import Rejected, SecretSource, Verifier

F = TypeVar("F", bound=Callable[..., Any])


def verify_webhook(secret: SecretSource | None = None, **options: Any) -> Callable[[F], F]:
    """Verify each request to the view (``options``: those of ``Verifier``)."""
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
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate
