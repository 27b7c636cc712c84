"""A Django view decorator that verifies Hookline's deliveries.

    from hookline.receive.django import verify_webhook

    @verify_webhook(secret=settings.WEBHOOK_SECRET)
    def receive(request):
        event = request.webhook    # a hookline.receive.WebhookEvent
        return HttpResponse(status=204)

The view is exempt from CSRF checks (a delivery carries a signature, not a CSRF token). A
refused request gets 400 or 401 with ``{"ok": false, "error": {"code", "message"}}`` and the
view is not called. With ``dedup=`` a store of ``hookline.receive.dedup``, a delivery whose id
was claimed before gets 200 ``{"ok": true, "duplicate": true, …}`` and the view is not called;
a view that raises or answers other than 2xx releases the claim.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from hookline.receive import Rejected, SecretSource, Verifier
from hookline.receive.dedup import DeliveryStore, Duplicate, run_once

F = TypeVar("F", bound=Callable[..., HttpResponse])


def verify_webhook(
    secret: SecretSource | None = None, *, dedup: DeliveryStore | None = None, **options: Any
) -> Callable[[F], F]:
    """Verify each request to the view (``options``: those of ``Verifier``); with
    ``dedup``, run the view once per delivery id."""
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
            if dedup is None:
                return view(request, *args, **kwargs)
            try:
                return run_once(
                    dedup,
                    request.webhook,
                    lambda: view(request, *args, **kwargs),
                    lambda response: response.status_code,
                )
            except Duplicate as exc:
                return JsonResponse(exc.body(), status=exc.status)

        return cast(F, checked)

    return decorate
