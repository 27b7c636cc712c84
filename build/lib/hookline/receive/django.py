"""A Django view decorator that verifies Hookline's deliveries.

    from hookline.receive.django import verify_webhook

    @verify_webhook(secret=settings.WEBHOOK_SECRET)
    def receive(request):
        event = request.webhook    # a hookline.receive.WebhookEvent
        return HttpResponse(status=204)

The view is exempt from CSRF checks (a delivery carries a signature, not a CSRF token). A
refused request gets 400 or 401 with ``{"ok": false, "error": {"code", "message"}}`` and the
view is not called.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from hookline.receive import Rejected, SecretSource, Verifier

F = TypeVar("F", bound=Callable[..., HttpResponse])


def verify_webhook(secret: SecretSource | None = None, **options: Any) -> Callable[[F], F]:
    """Verify each request to the view (``options``: those of ``Verifier``)."""
    verifier = Verifier(secret=secret, **options)

    def decorate(view: F) -> F:
        @csrf_exempt
        @functools.wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                request.webhook = verifier.check(
                    dict(request.headers),
                    request.body,
                    method=request.method or "POST",
                    url=request.build_absolute_uri(),
                )
            except Rejected as exc:
                return JsonResponse(exc.body(), status=exc.status)
            return view(request, *args, **kwargs)

        return cast(F, checked)

    return decorate
