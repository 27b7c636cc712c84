"""Receiving Hookline's deliveries in a web framework: verified, parsed, or refused.

``Verifier`` holds what a receiver checks against (the scheme, the secret or secrets, the
replay window) and turns a request's headers and raw body into a ``WebhookEvent``, or
raises ``Rejected``: 400 for a request that is not a delivery (signature headers missing or
malformed, a body that is not JSON), 401 for one whose signature does not verify or whose
timestamp is outside the window. The framework modules wrap it:

- ``hookline.receive.fastapi.WebhookVerifier``: a dependency, ``event = Depends(verifier)``;
- ``hookline.receive.flask.verify_webhook``: a view decorator, the event in ``flask.g.webhook``;
- ``hookline.receive.django.verify_webhook``: a view decorator, the event in ``request.webhook``.

Each takes ``dedup=``, a store of ``hookline.receive.dedup``, to answer a delivery whose id
it has seen with 200 without running the handler again.

This module imports no framework.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hookline.verify import TOLERANCE_SECONDS, MalformedDelivery, VerificationError, verify

Secrets = str | Sequence[str]
# A secret per request (e.g. looked up by tenant from a header or the URL).
SecretSource = Secrets | Callable[[Mapping[str, str]], Secrets | None]


class Rejected(Exception):
    """A request refused: the HTTP ``status`` to answer, a ``code`` and a human message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        """The answer's JSON, in Hookline's own error shape."""
        return {"ok": False, "error": {"code": self.code, "message": self.message}}


@dataclass(frozen=True, kw_only=True)
class WebhookEvent:
    """A verified delivery: the event's id, type and data, the whole body and the headers."""

    id: str | None
    type: str | None
    data: Any
    payload: Any
    headers: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class Verifier:
    """What deliveries are checked against.

    ``secret``: the webhook's ``whsec_…`` secret, several (during your own rotation: any
    one verifying is enough), or a callable of the headers giving them. ``public_key``: the
    ``whpk_…`` key, for ``ed25519``. ``brand``: the ``X-{Brand}-`` prefix of the hmac schemes
    and of the ``X-{Brand}-Event`` header. With ``scheme="svix"`` (Svix's wire format) the
    body is the event's data itself: the event's id is ``svix-id`` and its type
    ``X-{Brand}-Event``.
    """

    secret: SecretSource | None = None
    scheme: str = "standard"
    public_key: str | None = None
    brand: str = "Hookline"
    tolerance: int = TOLERANCE_SECONDS

    def __post_init__(self) -> None:
        if (
            self.secret is not None
            and not isinstance(self.secret, str)
            and not callable(self.secret)
        ):
            object.__setattr__(self, "secret", tuple(self.secret))  # hashable, like the rest

    def check(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        method: str = "POST",
        url: str | None = None,
    ) -> WebhookEvent:
        """The delivery, verified and parsed; raises ``Rejected`` otherwise."""
        plain = {k.lower(): v for k, v in headers.items()}
        failure: VerificationError | None = None
        for secret in self._secrets(plain):
            try:
                verify(
                    self.scheme,
                    plain,
                    body,
                    secret=secret,
                    public_key=self.public_key,
                    brand=self.brand,
                    method=method,
                    url=url,
                    tolerance=self.tolerance,
                )
            except MalformedDelivery as exc:
                raise Rejected(400, "malformed_delivery", str(exc)) from exc
            except VerificationError as exc:
                failure = exc
                continue
            return self._parsed(plain, body)
        raise Rejected(401, "invalid_signature", str(failure or "no secret to verify with"))

    def _secrets(self, headers: Mapping[str, str]) -> list[str | None]:
        if self.scheme in ("ed25519", "none"):
            return [None]
        given = self.secret(headers) if callable(self.secret) else self.secret
        if given is None:
            return []
        return [given] if isinstance(given, str) else list(given)

    def _parsed(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise Rejected(400, "invalid_json", f"the body is not JSON: {exc}") from exc
        if self.scheme == "svix":
            return WebhookEvent(
                id=headers.get("svix-id"),
                type=headers.get(f"x-{self.brand.lower()}-event"),
                data=payload,
                payload=payload,
                headers=headers,
            )
        envelope = payload if isinstance(payload, dict) else {}
        delivery = headers.get(f"x-{self.brand.lower()}-delivery")
        return WebhookEvent(
            id=envelope.get("id") or headers.get("webhook-id") or delivery,
            type=envelope.get("type") or envelope.get("event"),
            data=envelope.get("data", payload),
            payload=payload,
            headers=headers,
        )


__all__ = ["Rejected", "Verifier", "WebhookEvent"]
