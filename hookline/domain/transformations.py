"""A webhook's transformation: JavaScript that reshapes each delivery before it is signed. Pure.

``parse`` reads the API's ``transformation`` field into a ``Transformation``; ``load`` reads a
stored one. ``webhook_input`` is what ``handler(webhook)`` gets, as JSON text; ``parse_result``
reads what it returned into a ``Transformed`` request or a ``Cancelled`` delivery, or raises
``InvalidResult`` saying what is wrong with it. Whether the returned URL and headers are
allowed is checked against the same rules as a webhook's own (``check_url``; ``headers`` here
and the reserved names the caller passes in).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hookline.domain import jsjson
from hookline.domain.limits import MAX_TRANSFORMATION_CODE
from hookline.errors import Invalid


@dataclass(frozen=True, kw_only=True, slots=True)
class Transformation:
    code: str
    enabled: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "enabled": self.enabled}


@dataclass(frozen=True, kw_only=True, slots=True)
class Transformed:
    """The request as the transformation left it: the body's exact text, URL and custom
    headers (which replace the webhook's own)."""

    body: str
    url: str
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The transformation said ``cancel: true``: nothing is sent."""


class InvalidResult(Exception):
    """What ``handler`` returned cannot be sent; the message says why."""


def parse(value: Any) -> Transformation | None:
    """The ``transformation`` field of a webhook (None clears it); raise ``Invalid``."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"code", "enabled"}:
        raise Invalid(
            'transformation is {"code": "<JavaScript>", "enabled": true|false}.',
            code="invalid_transformation",
        )
    code, enabled = value.get("code"), value.get("enabled", True)
    if not isinstance(code, str) or not code.strip() or len(code) > MAX_TRANSFORMATION_CODE:
        raise Invalid(
            f"transformation.code is JavaScript defining function handler(webhook), "
            f"at most {MAX_TRANSFORMATION_CODE} characters.",
            code="invalid_transformation",
        )
    if not isinstance(enabled, bool):
        raise Invalid("transformation.enabled is true or false.", code="invalid_transformation")
    return Transformation(code=code, enabled=enabled)


def load(stored: Mapping[str, Any]) -> Transformation:
    return Transformation(code=stored["code"], enabled=stored["enabled"])


def webhook_input(
    *, event_type: str, body: str | bytes, url: str, headers: Mapping[str, str]
) -> str:
    """The JSON text of ``handler``'s argument: the event type, the body as JSON (the payload
    as it would be sent), the URL and the webhook's custom headers."""
    text = body.decode() if isinstance(body, bytes) else body
    return (
        f'{{"eventType":{jsjson.encode_string(event_type)},"payload":{text},'
        f'"url":{jsjson.encode_string(url)},"headers":{jsjson.dumps(dict(headers))}}}'
    )


def parse_result(
    text: str,
    *,
    check_url: Callable[[str], str],
    check_headers: Callable[[dict[str, str]], None],
) -> Transformed | Cancelled:
    """What ``handler`` returned (JSON text) as a request to send, or the cancellation.
    ``check_url`` returns the URL as it is sent or raises ``Invalid``; ``check_headers``
    raises ``Invalid`` for headers a webhook may not set."""
    try:
        result = jsjson.loads(text)
    except ValueError as exc:
        raise InvalidResult("handler(webhook) returned something that is not JSON.") from exc
    if not isinstance(result, dict):
        raise InvalidResult("handler(webhook) must return the webhook object.")
    if result.get("cancel") is True:
        return Cancelled()
    if "payload" not in result:
        raise InvalidResult("The returned webhook has no payload.")
    url, headers = result.get("url"), result.get("headers")
    headers = {} if headers is None else headers
    if not isinstance(url, str):
        raise InvalidResult("The returned webhook's url must be a string.")
    if not isinstance(headers, dict):
        raise InvalidResult("The returned webhook's headers must be an object.")
    try:
        url = check_url(url)
        check_headers(headers)
    except Invalid as exc:
        raise InvalidResult(f"{exc.message} ({exc.error_code})") from exc
    return Transformed(body=jsjson.dumps(result["payload"]), url=url, headers=dict(headers))
